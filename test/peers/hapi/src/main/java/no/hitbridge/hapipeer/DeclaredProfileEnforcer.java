package no.hitbridge.hapipeer;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.List;
import java.util.Optional;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;

/**
 * Rejects a create or update (also inside transaction Bundles) when the resource declares, in
 * meta.profile, a StructureDefinition stored on this server and does not conform to it. Resources
 * that declare no stored profile are written unchecked, as a plain HAPI server would.
 */
@Interceptor
public class DeclaredProfileEnforcer {

  private final FhirContext fhirContext;
  private final IInstanceValidatorModule validatorModule;
  private final IValidationSupport storedConformanceResources;

  public DeclaredProfileEnforcer(
      FhirContext fhirContext,
      IInstanceValidatorModule validatorModule,
      IValidationSupport storedConformanceResources) {
    this.fhirContext = fhirContext;
    this.validatorModule = validatorModule;
    this.storedConformanceResources = storedConformanceResources;
  }

  @Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_CREATED)
  public void beforeCreate(IBaseResource resource) {
    check(resource);
  }

  @Hook(Pointcut.STORAGE_PRESTORAGE_RESOURCE_UPDATED)
  public void beforeUpdate(IBaseResource previous, IBaseResource resource) {
    check(resource);
  }

  private void check(IBaseResource resource) {
    List<String> stored =
        resource.getMeta().getProfile().stream()
            .map(IPrimitiveType::getValueAsString)
            .filter(url -> url != null && !url.isBlank())
            .filter(url -> storedConformanceResources.fetchStructureDefinition(url) != null)
            .toList();
    if (stored.isEmpty()) {
      return;
    }
    FhirValidator validator = fhirContext.newValidator();
    validator.registerValidatorModule(validatorModule);
    // The instance validator checks the resource against the base definition and every declared profile.
    ValidationResult result = validator.validateWithResult(resource);
    Optional<SingleValidationMessage> firstError =
        result.getMessages().stream()
            .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal())
            .findFirst();
    if (firstError.isPresent()) {
      SingleValidationMessage error = firstError.get();
      throw new UnprocessableEntityException(
          "Resource does not conform to its declared profile "
              + String.join(", ", stored)
              + ": "
              + error.getLocationString()
              + ": "
              + error.getMessage(),
          result.toOperationOutcome());
    }
  }
}
