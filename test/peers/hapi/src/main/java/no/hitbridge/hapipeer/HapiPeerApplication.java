package no.hitbridge.hapipeer;

import java.util.HashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.data.jpa.JpaRepositoriesAutoConfiguration;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration;
import org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration;
import org.springframework.boot.autoconfigure.jdbc.DataSourceAutoConfiguration;
import org.springframework.boot.autoconfigure.orm.jpa.HibernateJpaAutoConfiguration;
import org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;

/**
 * Test peer for hit-bridge: a real HAPI FHIR R4 JPA server on H2 (in memory; in a file with
 * -Dhapi.h2File=<path>), FHIR base at http://127.0.0.1:PORT/fhir. Port: first argument, else -Dhapi.port, else 8080.
 * Write-time profile enforcement: -Dhapi.enforceProfiles=false turns it off (default on).
 * A profile required of every resource of a type: -Dhapi.requiredProfiles=Procedure=<url>,… (none by default).
 */
@SpringBootApplication(
    exclude = {
      // HapiJpaServerConfig builds the DataSource, the entity manager factory and the
      // transaction manager itself, the way HAPI needs them.
      DataSourceAutoConfiguration.class,
      HibernateJpaAutoConfiguration.class,
      JpaRepositoriesAutoConfiguration.class,
      QuartzAutoConfiguration.class,
      ThymeleafAutoConfiguration.class,
      ElasticsearchClientAutoConfiguration.class,
      ElasticsearchRestClientAutoConfiguration.class
    })
public class HapiPeerApplication {

  public static void main(String[] args) {
    String port = args.length > 0 ? args[0] : System.getProperty("hapi.port", "8080");
    Map<String, Object> defaults = new HashMap<>();
    defaults.put("server.address", "127.0.0.1");
    defaults.put("server.port", port);
    // identifier=system|value arrives with a raw '|' from many clients.
    defaults.put("server.tomcat.relaxed-query-chars", "|");
    defaults.put("spring.main.banner-mode", "off");
    // HAPI's own configuration classes rely on both.
    defaults.put("spring.main.allow-circular-references", "true");
    defaults.put("spring.main.allow-bean-definition-overriding", "false");
    defaults.put("spring.flyway.enabled", "false");
    defaults.put("spring.jmx.enabled", "false");
    defaults.put("springdoc.api-docs.enabled", "false");
    defaults.put("springdoc.swagger-ui.enabled", "false");

    SpringApplication app = new SpringApplication(HapiPeerApplication.class);
    app.setDefaultProperties(defaults);
    app.run(args);
  }
}
