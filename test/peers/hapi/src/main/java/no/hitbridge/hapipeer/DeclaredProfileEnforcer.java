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
import ca.uhn.fhir.validation.ValidationOptions;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IPrimitiveType;

/**
 * Rejects a create or update (also inside transaction Bundles) when the resource declares, in
 * meta.profile, a StructureDefinition stored on this server and does not conform to it. Resources
 * that declare no stored profile are written unchecked, as a plain HAPI server would.
 *
 * A profile may also be required of every resource of a type, declared or not (-Dhapi.requiredProfiles
 * =Procedure=<url>,…): the way a vendor's server such as DIPS Arena holds every Procedure to its own
 * profile, whatever the sender claims. It is enforced once its StructureDefinition is stored.
 *
 * Messages that fault a profile rather than the resource can be named to be passed over
 * (-Dhapi.profileDefectsIgnored=<validator message id>,…): DIPS's published Procedure profile slices
 * identifiers by system with a slice that fixes none, which the validator reports as an error on
 * every identifier — DIPS's own example included.
 */
@Interceptor
public class DeclaredProfileEnforcer {

  private final FhirContext fhirContext;
  private final IInstanceValidatorModule validatorModule;
  private final IValidationSupport storedConformanceResources;
  private final Map<String, String> requiredProfiles;
  private final Set<String> profileDefectsIgnored;

  public DeclaredProfileEnforcer(
      FhirContext fhirContext,
      IInstanceValidatorModule validatorModule,
      IValidationSupport storedConformanceResources,
      Map<String, String> requiredProfiles,
      Set<String> profileDefectsIgnored) {
    this.fhirContext = fhirContext;
    this.validatorModule = validatorModule;
    this.storedConformanceResources = storedConformanceResources;
    this.requiredProfiles = requiredProfiles;
    this.profileDefectsIgnored = profileDefectsIgnored;
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
        new ArrayList<>(
            resource.getMeta().getProfile().stream()
                .map(IPrimitiveType::getValueAsString)
                .filter(url -> url != null && !url.isBlank())
                .filter(url -> storedConformanceResources.fetchStructureDefinition(url) != null)
                .toList());
    String required = requiredProfiles.get(fhirContext.getResourceType(resource));
    boolean requiredStored =
        required != null && storedConformanceResources.fetchStructureDefinition(required) != null;
    if (requiredStored && !stored.contains(required)) {
      stored.add(required);
    }
    if (stored.isEmpty()) {
      return;
    }
    FhirValidator validator = fhirContext.newValidator();
    validator.registerValidatorModule(validatorModule);
    // The instance validator checks the resource against the base definition and every declared
    // profile, and against the type's required profile whether declared or not.
    ValidationOptions options = new ValidationOptions();
    if (requiredStored) {
      options.addProfile(required);
    }
    ValidationResult result = validator.validateWithResult(resource, options);
    Optional<SingleValidationMessage> firstError =
        result.getMessages().stream()
            .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal())
            .filter(m -> m.getMessageId() == null || !profileDefectsIgnored.contains(m.getMessageId()))
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
