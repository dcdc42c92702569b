package no.hitbridge.hapipeer;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.interceptor.api.IInterceptorService;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.binary.api.IBinaryStorageSvc;
import ca.uhn.fhir.jpa.binstore.MemoryBinaryStorageSvcImpl;
import ca.uhn.fhir.jpa.config.HapiJpaConfig;
import ca.uhn.fhir.jpa.config.JpaConfig;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.narrative.INarrativeGenerator;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import com.zaxxer.hikari.HikariDataSource;
import jakarta.persistence.EntityManagerFactory;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;

/**
 * The beans HAPI's JPA configuration expects from its host application, plus the RESTful server.
 * Only what hit-bridge's tests need: R4 resources, transactions, search, $validate. No
 * subscriptions, MDM, clinical reasoning, IPS, full-text search or narratives.
 */
@Configuration
@Import({
  JpaR4Config.class,
  HapiJpaConfig.class,
  ThreadPoolFactoryConfig.class,
  JpaBatch2Config.class,
  Batch2JobsConfig.class,
  // In-process message broker that batch2 needs; no subscription processing is imported.
  SubscriptionChannelConfig.class
})
public class HapiJpaServerConfig {

  private static final Logger LOG = LoggerFactory.getLogger(HapiJpaServerConfig.class);

  @Bean
  public JpaStorageSettings storageSettings() {
    JpaStorageSettings settings = new JpaStorageSettings();
    // A search repeated right after a write must see the write: never serve a cached result set.
    settings.setReuseCachedSearchResultsForMillis(null);
    settings.setSchedulingDisabled(true);
    settings.setMarkResourcesForReindexingUponSearchParameterChange(false);
    return settings;
  }

  @Bean
  public PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  @Bean
  public SubscriptionSettings subscriptionSettings() {
    return new SubscriptionSettings();
  }

  /** Picked up by HAPI's FhirContext configuration: resources are stored without generated narratives. */
  @Bean
  public INarrativeGenerator narrativeGenerator() {
    return new NullNarrativeGenerator();
  }

  @Bean
  public IBinaryStorageSvc binaryStorageSvc() {
    return new MemoryBinaryStorageSvcImpl();
  }

  @Bean(destroyMethod = "close")
  public HikariDataSource dataSource() {
    HikariDataSource dataSource = new HikariDataSource();
    dataSource.setDriverClassName("org.h2.Driver");
    // In memory by default (fast, empty on every start); -Dhapi.h2File=<path> keeps the data in a
    // file instead, so a peer that is stopped and started again (an outage test) still has it.
    String h2File = System.getProperty("hapi.h2File", "");
    dataSource.setJdbcUrl(
        h2File.isEmpty() ? "jdbc:h2:mem:hapi;DB_CLOSE_DELAY=-1" : "jdbc:h2:file:" + h2File);
    dataSource.setUsername("sa");
    dataSource.setPassword("");
    dataSource.setMaximumPoolSize(10);
    return dataSource;
  }

  @Bean
  @Primary
  public LocalContainerEntityManagerFactoryBean entityManagerFactory(
      ConfigurableListableBeanFactory beanFactory,
      FhirContext fhirContext,
      JpaStorageSettings storageSettings,
      DataSource dataSource) {
    LocalContainerEntityManagerFactoryBean factory =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
    factory.setPersistenceUnitName("HAPI_PU");
    factory.setDataSource(dataSource);
    Map<String, Object> jpa = new HashMap<>();
    // HAPI reads the dialect back from this map (HibernatePropertiesProvider).
    jpa.put("hibernate.dialect", HapiFhirH2Dialect.class.getName());
    jpa.put("hibernate.hbm2ddl.auto", "update");
    jpa.put("hibernate.search.enabled", "false");
    jpa.put("hibernate.jdbc.batch_size", "20");
    jpa.put("hibernate.cache.use_query_cache", "false");
    jpa.put("hibernate.cache.use_second_level_cache", "false");
    jpa.put("hibernate.format_sql", "false");
    jpa.put("hibernate.show_sql", "false");
    factory.setJpaPropertyMap(jpa);
    return factory;
  }

  @Bean
  @Primary
  public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
    return new JpaTransactionManager(entityManagerFactory);
  }

  @Bean
  public RestfulServer restfulServer(
      IFhirSystemDao<?, ?> systemDao,
      ResourceProviderFactory resourceProviders,
      IJpaSystemProvider systemProvider,
      JpaStorageSettings storageSettings,
      ISearchParamRegistry searchParamRegistry,
      IValidationSupport validationSupport,
      DatabaseBackedPagingProvider pagingProvider,
      IInterceptorService interceptors,
      @Qualifier("myInstanceValidator") IInstanceValidatorModule instanceValidator,
      @Qualifier(JpaConfig.JPA_VALIDATION_SUPPORT) IValidationSupport storedConformanceResources) {
    FhirContext fhirContext = systemDao.getContext();
    RestfulServer server = new RestfulServer(fhirContext);
    server.registerProviders(resourceProviders.createProviders());
    // Transaction and batch Bundles POSTed to the base URL.
    server.registerProvider(systemProvider);
    JpaCapabilityStatementProvider capabilities =
        new JpaCapabilityStatementProvider(
            server, systemDao, storageSettings, searchParamRegistry, validationSupport);
    // Names this very process in /metadata, so a readiness probe cannot mistake another server
    // on the same port for it.
    capabilities.setImplementationDescription(
        "hit-bridge test EHR " + System.getProperty("hapi.instanceId", "(no instance id)"));
    server.setServerConformanceProvider(capabilities);
    server.setPagingProvider(pagingProvider);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);

    boolean enforce = Boolean.parseBoolean(System.getProperty("hapi.enforceProfiles", "true"));
    if (enforce) {
      // Registered globally, so writes inside transaction Bundles are covered too.
      interceptors.registerInterceptor(
          new DeclaredProfileEnforcer(
              fhirContext,
              instanceValidator,
              storedConformanceResources,
              requiredProfiles(),
              Set.of(System.getProperty("hapi.profileDefectsIgnored", "").split(","))));
    }
    LOG.info("Write-time validation against stored profiles: {}", enforce ? "on" : "off");
    return server;
  }

  /** -Dhapi.requiredProfiles=Procedure=http://…,Observation=http://…: a profile per resource type. */
  private static Map<String, String> requiredProfiles() {
    Map<String, String> required = new HashMap<>();
    for (String pair : System.getProperty("hapi.requiredProfiles", "").split(",")) {
      int equals = pair.indexOf('=');
      if (equals > 0) {
        required.put(pair.substring(0, equals).trim(), pair.substring(equals + 1).trim());
      }
    }
    LOG.info("Profiles required of every resource of a type: {}", required);
    return required;
  }

  @Bean
  public ServletRegistrationBean<RestfulServer> fhirServlet(RestfulServer server) {
    ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
    registration.setLoadOnStartup(1);
    return registration;
  }

  /**
   * /secured/fhir: the same server behind bearer tokens, only when -Dhapi.auth.issuer is set
   * (with -Dhapi.auth.jwksUrl and -Dhapi.auth.audience).
   */
  @Bean
  public FilterRegistrationBean<jakarta.servlet.Filter> securedFhir() throws java.io.IOException {
    String issuer = System.getProperty("hapi.auth.issuer", "");
    FilterRegistrationBean<jakarta.servlet.Filter> registration = new FilterRegistrationBean<>();
    if (issuer.isEmpty()) {
      // Spring wants a filter even for a registration it will skip.
      registration.setFilter((request, response, chain) -> chain.doFilter(request, response));
      registration.setEnabled(false);
      return registration;
    }
    registration.setFilter(
        new SecuredFhirFilter(
            issuer,
            System.getProperty("hapi.auth.jwksUrl", issuer + "/protocol/openid-connect/certs"),
            System.getProperty("hapi.auth.audience", "test-ehr")));
    registration.addUrlPatterns(SecuredFhirFilter.PREFIX + "/*");
    return registration;
  }
}
