import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import { DomainErrorCode, DomainException } from './domain.exception';
import { bodyShapeProblem, classValidatorMessage } from './validation-messages';

/** The properties a DTO class declares, for the sentence about a property it does not know. */
function declaredProperties(errors: ValidationError[]): string[] {
  const target = errors.find((e) => e.target)?.target;
  if (!target) return [];
  const metadata = getMetadataStorage().getTargetValidationMetadatas(target.constructor, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

/**
 * Validation of the DTO classes (class-validator), refusing as the compiled schemas do
 * (SchemaPipe): a 400 INVALID_INPUT with one sentence per wrong property, and a body that
 * is not a JSON object said to be so, not reported as every rule of every property failing.
 */
export class DtoValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      stopAtFirstError: false,
      // The target names the DTO whose declared properties an unknown one is told about.
      validationError: { target: true, value: true },
      exceptionFactory: (errors) => new DomainException(DomainErrorCode.InvalidInput, classValidatorMessage(errors, declaredProperties(errors))),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && this.toValidate(metadata)) {
      const problem = bodyShapeProblem(value);
      if (problem) throw new DomainException(DomainErrorCode.InvalidInput, problem);
    }
    return super.transform(value, metadata);
  }
}
