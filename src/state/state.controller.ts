import { Controller, Get, Headers, Query, Res, UnauthorizedException } from '@nestjs/common';
import { ApiOkResponse, ApiProduces, ApiQuery, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-responses';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators';
import { StatePage } from './state-page';
import { StateDataDto } from './state.dto';
import { StateData, StateService } from './state.service';

const TOKEN_QUERY = {
  name: 'token',
  required: false,
  description: 'an admin or viewer JWT, for a browser that cannot send a header; the Authorization header wins',
};

const HTML = { 'text/html': { schema: { type: 'string' } } };

/**
 * Nothing on the page comes from elsewhere, its script and styles are the files under
 * /state/assets/ (no inline script or style), and it may only talk back to this server.
 */
const PAGE_POLICY =
  `default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src data:; ` +
  `base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
/** The JSON the page polls runs nothing. */
const DATA_POLICY =
  `default-src 'none'; script-src 'none'; style-src 'none'; connect-src 'self'; img-src data:; ` +
  `base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

function secure(reply: FastifyReply, policy: string): void {
  void reply
    .header('Content-Security-Policy', policy)
    .header('Cache-Control', 'no-store')
    // The page's URL may carry its token: never send it on.
    .header('Referrer-Policy', 'no-referrer')
    .header('X-Content-Type-Options', 'nosniff');
}

/**
 * The operator's window on the ring: @Public() so the global guard does not demand a
 * header, because a browser navigating here cannot send one; the token (admin or viewer)
 * is checked here instead, from the header or `?token=`.
 */
@ApiTags('state')
@Public()
@Controller('state')
export class StateController {
  constructor(
    private readonly state: StateService,
    private readonly page: StatePage,
  ) {}

  @Get()
  @ApiProduces('text/html')
  @ApiQuery(TOKEN_QUERY)
  @ApiOkResponse({ description: 'the state page: the ring, shards, instances and reshards, live', content: HTML })
  @ApiUnauthorizedResponse({ description: 'a small page saying how to get a viewer token', content: HTML })
  @ApiErrors({ 400: 'the token query value is not well-formed Unicode, or has a NUL' })
  async showPage(
    @Headers('authorization') authorization: string | undefined,
    @Query('token') token: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    secure(reply, PAGE_POLICY);
    void reply.type('text/html; charset=utf-8');
    if (!(await this.state.authorize(authorization, token))) {
      void reply.status(401).header('WWW-Authenticate', 'Bearer');
      return this.page.tokenNeeded;
    }
    return this.page.html;
  }

  @Get('data')
  @ApiQuery(TOKEN_QUERY)
  @ApiOkResponse({ type: StateDataDto, description: 'what the state page shows, as JSON; it polls this once a second (no message text)' })
  @ApiErrors({ 400: 'the token query value is not well-formed Unicode, or has a NUL', 401: 'no admin or viewer token' })
  async getData(
    @Headers('authorization') authorization: string | undefined,
    @Query('token') token: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StateData> {
    secure(reply, DATA_POLICY);
    if (!(await this.state.authorize(authorization, token))) {
      throw new UnauthorizedException('the state page needs an admin or viewer token: npm run -s cli -- token <name> --viewer');
    }
    return this.state.data();
  }
}
