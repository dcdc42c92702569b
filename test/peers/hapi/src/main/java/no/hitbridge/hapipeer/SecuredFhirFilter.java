package no.hitbridge.hapipeer;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * The same FHIR server, behind a bearer token: a request to /secured/fhir/... is answered by
 * /fhir/... only when it carries a JWT signed by a key in the issuer's JWKS, issued by the
 * configured issuer, for the configured audience, and not expired. Anything else is 401 with
 * WWW-Authenticate, as an EHR behind an authorization server answers. /fhir itself stays open,
 * so the suites that need no authentication share this one server.
 */
public class SecuredFhirFilter extends OncePerRequestFilter {

  static final String PREFIX = "/secured";
  private static final Logger LOG = LoggerFactory.getLogger(SecuredFhirFilter.class);

  private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

  public SecuredFhirFilter(String issuer, String jwksUrl, String audience) throws IOException {
    // Keys are fetched when the first token arrives: the issuer may start after this server.
    // Nimbus's default 500 ms would turn a busy test machine's slow answer into a refused token.
    JWKSource<SecurityContext> keys =
        JWKSourceBuilder.create(URI.create(jwksUrl).toURL(), new DefaultResourceRetriever(10_000, 10_000))
            .retrying(true)
            .build();
    processor.setJWSKeySelector(
        new JWSVerificationKeySelector<>(
            Set.of(JWSAlgorithm.RS256, JWSAlgorithm.RS384, JWSAlgorithm.ES256, JWSAlgorithm.ES384, JWSAlgorithm.PS256),
            keys));
    processor.setJWTClaimsSetVerifier(
        new DefaultJWTClaimsVerifier<>(
            audience, new JWTClaimsSet.Builder().issuer(issuer).build(), Set.of("exp", "iat", "sub")));
    LOG.info("/secured/fhir requires bearer tokens from {} for audience {}", issuer, audience);
  }

  @Override
  protected boolean shouldNotFilter(HttpServletRequest request) {
    return !request.getRequestURI().startsWith(PREFIX + "/");
  }

  @Override
  protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
      throws ServletException, IOException {
    String header = request.getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      refuse(response, "invalid_request", "no bearer token");
      return;
    }
    try {
      JWTClaimsSet claims = processor.process(header.substring(7).trim(), null);
      LOG.info("token accepted: client {} {} {}", claims.getStringClaim("azp"), request.getMethod(), request.getRequestURI());
    } catch (Exception e) {
      LOG.info("token refused: {}", e.getMessage());
      refuse(response, "invalid_token", e.getMessage());
      return;
    }
    // The query string stays the original request's (a forward without one keeps it).
    String target = request.getRequestURI().substring(request.getContextPath().length() + PREFIX.length());
    request.getRequestDispatcher(target).forward(request, response);
  }

  private static void refuse(HttpServletResponse response, String error, String why) throws IOException {
    String text = why == null ? error : why.replace('"', '\'');
    response.setStatus(401);
    response.setHeader("WWW-Authenticate", "Bearer error=\"" + error + "\", error_description=\"" + text + "\"");
    response.setContentType("application/fhir+json");
    String body =
        "{\"resourceType\":\"OperationOutcome\",\"issue\":[{\"severity\":\"error\",\"code\":\"login\",\"diagnostics\":"
            + "\"" + text.replace("\\", "\\\\") + "\"}]}";
    response.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
  }
}
