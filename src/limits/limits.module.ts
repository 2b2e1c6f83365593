import { Global, Module } from '@nestjs/common';
import { RateLimits } from './rate-limits.service';
import { SendLimitGuard } from './send-limit.guard';

@Global()
@Module({ providers: [RateLimits, SendLimitGuard], exports: [RateLimits, SendLimitGuard] })
export class LimitsModule {}
