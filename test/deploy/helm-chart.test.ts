/**
 * The Helm chart, as a cluster would receive it: `helm lint`, then `helm template` with the
 * default values, with `roles: split`, and with a hospital-like values file, each render checked
 * against the Kubernetes JSON schemas (kubeconform, schemas from the kubernetes-validate package)
 * and the Prometheus Operator's (validate-monitoring.ts), then read for what a security review
 * asks: the pods' securityContext, the NetworkPolicies, and that no secret value is in it.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { configSchema, SECRET_KEYS } from '../../src/platform/config.ts';
import { METRIC_NAMES } from '../../src/platform/metrics.ts';
import { run, tools } from './tools.ts';

const CHART = 'helm/hit-bridge';
const RELEASE = 'hb';
const NAMESPACE = 'hit-bridge';
const FULLNAME = 'hb-hit-bridge';
/** The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest with schemas. */
const KUBERNETES_VERSIONS = ['1.27.0', '1.37.0'];
/**
 * helm built with `go install` lacks the release build's link-time Kubernetes version and would
 * assume 1.20, below the chart's kubeVersion: every render names the version it targets.
 */
const KUBE_VERSION_FLAGS = ['--kube-version', KUBERNETES_VERSIONS.at(-1) ?? ''];
const MONITORING_KINDS = ['ServiceMonitor', 'PrometheusRule'];
const SECRETS_DIR = '/var/run/secrets/hit-bridge';

type Json = Record<string, unknown>;
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: Json;
  data?: Record<string, string>;
}
interface Container {
  name: string;
  env?: { name: string; value?: string; valueFrom?: Json }[];
  envFrom?: Json[];
  securityContext?: Json;
  readinessProbe?: { httpGet?: { path?: string } };
  livenessProbe?: { httpGet?: { path?: string } };
  startupProbe?: { httpGet?: { path?: string } };
}
interface PodSpec {
  securityContext?: Json;
  containers: Container[];
  initContainers?: Container[];
  automountServiceAccountToken?: boolean;
  volumes?: { name: string; emptyDir?: Json; configMap?: Json; projected?: { sources: { secret: Json }[] } }[];
}
interface Rule {
  from?: Json[];
  to?: Json[];
  ports?: { protocol?: string; port?: number | string }[];
}

function helm(args: readonly string[]): { status: number; output: string } {
  const ran = run(tools.helm(), args);
  return { status: ran.status, output: ran.stdout + ran.stderr };
}

function render(extra: readonly string[] = []): { text: string; manifests: Manifest[] } {
  const ran = run(tools.helm(), [
    'template',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    ...KUBE_VERSION_FLAGS,
    ...extra,
  ]);
  if (ran.status !== 0) throw new Error(`helm template ${extra.join(' ')} failed:\n${ran.stderr}`);
  const manifests = parseAllDocuments(ran.stdout)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
  return { text: ran.stdout, manifests };
}

const renders = {
  default: () => render(),
  split: () => render(['--set', 'roles=split']),
  hospital: () => render(['--values', 'test/deploy/values-hospital.yaml']),
};
type RenderName = keyof typeof renders;
const rendered = new Map<RenderName, ReturnType<typeof render>>();
function get(name: RenderName): ReturnType<typeof render> {
  let value = rendered.get(name);
  if (value === undefined) {
    value = renders[name]();
    rendered.set(name, value);
  }
  return value;
}

const ofKind = (manifests: readonly Manifest[], kind: string): Manifest[] => manifests.filter((m) => m.kind === kind);
const podSpec = (deployment: Manifest): PodSpec => (deployment.spec as { template: { spec: PodSpec } }).template.spec;
const component = (m: Manifest): string | undefined => m.metadata.labels?.['app.kubernetes.io/component'];
const envOf = (container: Container, name: string) => container.env?.find((entry) => entry.name === name);

/**
 * kubernetes-validate's schemas refer to their shared definitions by an absolute URL
 * (`/api/_definitions.json`, against an `$id` on kubernetes.io), which kubeconform would fetch;
 * offline it reports the kind as having no schema. Dropping the `$id` and making the reference
 * relative lets it read `_definitions.json` from the same folder instead. Strict variant only.
 */
function resolvableSchemas(into: string): void {
  const bundled = tools.kubernetesSchemas();
  for (const version of KUBERNETES_VERSIONS) {
    const from = join(bundled, `v${version}-local-strict`);
    const to = join(into, `v${version}-strict`);
    mkdirSync(to, { recursive: true });
    for (const file of readdirSync(from)) {
      const schema = JSON.parse(readFileSync(join(from, file), 'utf8')) as Json;
      delete schema.$id;
      writeFileSync(
        join(to, file),
        JSON.stringify(schema).replaceAll('"/api/_definitions.json#', '"_definitions.json#'),
      );
    }
  }
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'hit-bridge-chart-'));
  resolvableSchemas(join(work, 'schemas'));
});
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('helm lint', () => {
  it.each([
    ['default values', []],
    ['roles: split', ['--set', 'roles=split']],
    ['the hospital values', ['--values', 'test/deploy/values-hospital.yaml']],
  ])('is clean with %s (strict: warnings fail too)', (_name, extra) => {
    const linted = helm(['lint', CHART, '--strict', ...extra]);
    expect(linted.output).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(linted.output).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(linted.status).toBe(0);
  });
});

describe.each(['default', 'split', 'hospital'] as const)('the %s render', (name) => {
  it.each(KUBERNETES_VERSIONS)('passes the Kubernetes %s schemas (kubeconform, strict)', (version) => {
    const file = join(work, `${name}.yaml`);
    writeFileSync(file, get(name).text);
    const ran = run(tools.kubeconform(), [
      '-strict',
      '-summary',
      '-output',
      'json',
      '-kubernetes-version',
      version,
      // Only the bundled schemas: a kind without one is an error, never a download.
      '-schema-location',
      `${join(work, 'schemas')}/{{ .NormalizedKubernetesVersion }}{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
      // Checked against their own CRD schemas below.
      '-skip',
      MONITORING_KINDS.join(','),
      file,
    ]);
    const report = JSON.parse(ran.stdout) as { summary: Record<string, number>; resources: unknown[] };
    expect(report.resources).toEqual([]);
    const expected = get(name).manifests.filter((m) => !MONITORING_KINDS.includes(m.kind)).length;
    expect(report.summary).toMatchObject({ valid: expected, invalid: 0, errors: 0 });
    expect(ran.status).toBe(0);
  });

  it('passes the Prometheus Operator schemas for its ServiceMonitor and PrometheusRule', () => {
    const monitoring = get(name).manifests.filter((m) => MONITORING_KINDS.includes(m.kind));
    const ran = run(process.execPath, ['test/deploy/validate-monitoring.ts'], JSON.stringify(monitoring));
    expect(ran.stderr).toBe('');
    const results = JSON.parse(ran.stdout) as { kind: string; ok: boolean; error?: string }[];
    expect(results.filter((result) => !result.ok)).toEqual([]);
    expect(results.map((result) => result.kind).sort()).toEqual(
      name === 'hospital' ? [...MONITORING_KINDS].sort() : [],
    );
  });

  it('runs every container non-root, read-only, without privilege escalation or capabilities', () => {
    const deployments = ofKind(get(name).manifests, 'Deployment');
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const pod = podSpec(deployment);
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        expect(container.securityContext).toMatchObject({
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  it('probes /healthz for liveness and start-up, /readyz for readiness; DATA_DIR and /tmp are emptyDirs', () => {
    for (const deployment of ofKind(get(name).manifests, 'Deployment')) {
      const pod = podSpec(deployment);
      const [container] = pod.containers;
      expect(container?.livenessProbe?.httpGet?.path).toBe('/healthz');
      expect(container?.startupProbe?.httpGet?.path).toBe('/healthz');
      expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');
      expect(envOf(container as Container, 'DATA_DIR')?.value).toBe('/var/lib/hit-bridge');
      expect(pod.volumes?.filter((volume) => volume.emptyDir !== undefined).map((volume) => volume.name)).toEqual([
        'data',
        'tmp',
      ]);
    }
  });

  it("spreads each Deployment's replicas over nodes, counting only its own pods", () => {
    for (const deployment of ofKind(get(name).manifests, 'Deployment')) {
      const spread = (podSpec(deployment) as PodSpec & { topologySpreadConstraints?: Json[] })
        .topologySpreadConstraints;
      expect(spread).toEqual([
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: {
            matchLabels: {
              'app.kubernetes.io/name': 'hit-bridge',
              'app.kubernetes.io/instance': RELEASE,
              'app.kubernetes.io/component': component(deployment),
            },
          },
        },
      ]);
    }
  });

  it('holds no secret value: no Secret; secret variables only as files mounted from Secrets (<NAME>_FILE)', () => {
    const { manifests } = get(name);
    expect(ofKind(manifests, 'Secret')).toEqual([]);
    const known = new Set(Object.keys(configSchema.properties));
    for (const configMap of ofKind(manifests, 'ConfigMap').filter((m) => !m.metadata.name.endsWith('-dashboard'))) {
      const keys = Object.keys(configMap.data ?? {});
      expect(keys.filter((key) => !known.has(key))).toEqual([]);
      expect(keys.filter((key) => SECRET_KEYS.includes(key))).toEqual([]);
      expect(configMap.data?.DATABASE_URL ?? '').not.toMatch(/\/\/[^/@]*:[^/@]*@|password=/i);
    }
    for (const deployment of ofKind(manifests, 'Deployment')) {
      const pod = podSpec(deployment);
      const mounted = pod.volumes?.find((volume) => volume.name === 'secrets')?.projected?.sources ?? [];
      const files = mounted.flatMap((source) => (source.secret.items as { path: string }[]).map((item) => item.path));
      for (const container of pod.containers) {
        expect(container.envFrom).toEqual([{ configMapRef: { name: FULLNAME } }]);
        for (const entry of container.env ?? []) {
          expect(entry.valueFrom).toBeUndefined();
          expect(SECRET_KEYS).not.toContain(entry.name);
          const variable = entry.name.replace(/_FILE$/, '');
          expect(known.has(variable)).toBe(true);
          if (entry.name.endsWith('_FILE')) {
            expect(SECRET_KEYS).toContain(variable);
            expect(entry.value).toBe(`${SECRETS_DIR}/${variable}`);
            expect(files).toContain(variable);
          }
        }
      }
      const fileVariables = (pod.containers[0]?.env ?? []).filter((e) => e.name.endsWith('_FILE')).map((e) => e.name);
      expect(fileVariables.sort()).toEqual(
        name === 'hospital'
          ? ['DATABASE_PASSWORD_FILE', 'EHR_AUTH_TOKEN_FILE', 'PATIENT_KEY_SECRET_FILE']
          : ['DATABASE_PASSWORD_FILE', 'PATIENT_KEY_SECRET_FILE'],
      );
    }
  });
});

describe('roles', () => {
  const rolesOf = (manifests: readonly Manifest[]) =>
    Object.fromEntries(
      ofKind(manifests, 'Deployment').map((d) => [
        d.metadata.name,
        envOf(podSpec(d).containers[0] as Container, 'ROLES')?.value,
      ]),
    );

  it('all: one Deployment running every role, with ROLES the service accepts', () => {
    const roles = rolesOf(get('default').manifests);
    expect(roles).toEqual({ [`${FULLNAME}-all`]: 'api,ehr,relay,handover' });
    expect(new RegExp(configSchema.properties.ROLES.pattern).test(String(roles[`${FULLNAME}-all`]))).toBe(true);
  });

  it('split: one Deployment per role, each with its own HPA or replicas, PDB and NetworkPolicy', () => {
    const { manifests } = get('split');
    expect(rolesOf(manifests)).toEqual({
      [`${FULLNAME}-api`]: 'api',
      [`${FULLNAME}-ehr`]: 'ehr',
      [`${FULLNAME}-relay`]: 'relay',
      [`${FULLNAME}-handover`]: 'handover',
    });
    const names = (kind: string) =>
      ofKind(manifests, kind)
        .map((m) => m.metadata.name)
        .sort();
    const perRole = ['api', 'ehr', 'handover', 'relay'].map((role) => `${FULLNAME}-${role}`);
    expect(names('PodDisruptionBudget')).toEqual(perRole);
    expect(names('NetworkPolicy')).toEqual(perRole);
    expect(names('HorizontalPodAutoscaler')).toEqual([`${FULLNAME}-api`]);
    // The API Service reaches only the pods serving the API; the metrics Service every pod.
    const services = Object.fromEntries(
      ofKind(manifests, 'Service').map((s) => [s.metadata.name, (s.spec as { selector: Json }).selector]),
    );
    expect(services[FULLNAME]).toMatchObject({ 'app.kubernetes.io/component': 'api' });
    expect(services[`${FULLNAME}-metrics`]).not.toHaveProperty(['app.kubernetes.io/component']);
  });
});

describe('recipient directory', () => {
  it("is the hospital's ConfigMap, mounted read-only and named by RECIPIENT_DIRECTORY_PATH; unset, the image's example", () => {
    for (const deployment of ofKind(get('hospital').manifests, 'Deployment')) {
      const pod = podSpec(deployment);
      const container = pod.containers[0] as Container & { volumeMounts: Json[] };
      expect(envOf(container, 'RECIPIENT_DIRECTORY_PATH')?.value).toBe(
        '/etc/hit-bridge/recipient-directory/recipient-directory.yaml',
      );
      expect(container.volumeMounts).toContainEqual({
        name: 'recipient-directory',
        mountPath: '/etc/hit-bridge/recipient-directory',
        readOnly: true,
      });
      expect(pod.volumes?.find((volume) => volume.name === 'recipient-directory')?.configMap).toEqual({
        name: 'hit-bridge-recipients',
        items: [{ key: 'recipient-directory.yaml', path: 'recipient-directory.yaml' }],
      });
    }
    for (const deployment of ofKind(get('default').manifests, 'Deployment')) {
      expect(envOf(podSpec(deployment).containers[0] as Container, 'RECIPIENT_DIRECTORY_PATH')).toBeUndefined();
    }
  });
});

describe('NetworkPolicy', () => {
  interface PolicySpec {
    podSelector: Json;
    policyTypes: string[];
    ingress?: Rule[];
    egress?: Rule[];
  }
  const policies = (name: RenderName): Record<string, PolicySpec> =>
    Object.fromEntries(
      ofKind(get(name).manifests, 'NetworkPolicy').map((p) => [component(p) ?? '', p.spec as unknown as PolicySpec]),
    );
  const ingressController = {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
  };
  const prometheus = {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
  };
  const http = [{ protocol: 'TCP', port: 'http' }];
  const dns: Rule = {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ],
  };
  const kafka: Rule = {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kafka' } },
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kafka' } },
      },
    ],
    ports: [{ protocol: 'TCP', port: 9092 }],
  };
  const postgresSelector = {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'postgresql' } },
    podSelector: { matchLabels: { 'app.kubernetes.io/name': 'postgresql' } },
  };

  it('all: ingress from the ingress controller and Prometheus only; egress to DNS, Kafka, PostgreSQL (the EHR and the authorization server are denied until their CIDRs are set)', () => {
    const all = policies('default').all;
    expect(all?.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(all?.podSelector).toEqual({
      matchLabels: {
        'app.kubernetes.io/name': 'hit-bridge',
        'app.kubernetes.io/instance': RELEASE,
        'app.kubernetes.io/component': 'all',
      },
    });
    expect(all?.ingress).toEqual([
      { from: [ingressController], ports: http },
      { from: [prometheus], ports: http },
    ]);
    expect(all?.egress).toEqual([dns, kafka, { to: [postgresSelector], ports: [{ protocol: 'TCP', port: 5432 }] }]);
  });

  it('split: workers take ingress from Prometheus only; the EHR, PostgreSQL and the authorization server by CIDR when given', () => {
    const split = policies('hospital');
    expect(split.api?.ingress).toEqual([
      { from: [ingressController], ports: http },
      { from: [prometheus], ports: http },
    ]);
    for (const worker of ['ehr', 'relay', 'handover']) {
      expect(split[worker]?.ingress).toEqual([{ from: [prometheus], ports: http }]);
      expect(split[worker]?.egress).toEqual([
        dns,
        { to: [{ ipBlock: { cidr: '10.20.30.0/24' } }], ports: [{ protocol: 'TCP', port: 443 }] },
        kafka,
        {
          to: [{ ipBlock: { cidr: '10.40.0.10/32' } }, postgresSelector],
          ports: [{ protocol: 'TCP', port: 5432 }],
        },
        { to: [{ ipBlock: { cidr: '10.50.0.0/28' } }], ports: [{ protocol: 'TCP', port: 443 }] },
      ]);
    }
  });

  it('never allows traffic from or to anywhere: every rule names its peers', () => {
    for (const name of ['default', 'split', 'hospital'] as const) {
      for (const policy of Object.values(policies(name))) {
        for (const rule of [...(policy.ingress ?? []), ...(policy.egress ?? [])]) {
          const peers = rule.from ?? rule.to ?? [];
          expect(peers.length).toBeGreaterThan(0);
          for (const peer of peers) expect(peer).not.toEqual({});
        }
      }
    }
  });
});

describe('values', () => {
  it('refuses a secret variable in config: secrets are referenced, never written into values', () => {
    const refused = helm([
      'template',
      RELEASE,
      CHART,
      ...KUBE_VERSION_FLAGS,
      '--set',
      'config.PATIENT_KEY_SECRET=written-into-values-000000000000',
    ]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toMatch(/values don't meet the specifications of the schema/);
    expect(refused.output).toContain('PATIENT_KEY_SECRET');
  });

  it('refuses a DATABASE_URL with a password in it: it would land in a ConfigMap', () => {
    const refused = helm([
      'template',
      RELEASE,
      CHART,
      ...KUBE_VERSION_FLAGS,
      '--set',
      'config.DATABASE_URL=postgres://hitbridge:written-into-values@db:5432/hitbridge',
    ]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('DATABASE_URL');
  });

  it('refuses a securityContext that lets the container write its root filesystem', () => {
    const refused = helm([
      'template',
      RELEASE,
      CHART,
      ...KUBE_VERSION_FLAGS,
      '--set',
      'securityContext.readOnlyRootFilesystem=false',
    ]);
    expect(refused.status).not.toBe(0);
    expect(refused.output).toContain('readOnlyRootFilesystem');
  });
});

/** The hit-bridge series a text queries (histogram suffixes dropped). */
const seriesIn = (text: string): string[] => [
  ...new Set([...text.matchAll(/hitbridge_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|count|sum)$/, ''))),
];

describe('Grafana dashboard and alerts', () => {
  it('the dashboard is a ConfigMap labelled for the Grafana sidecar, with a panel on every series src/platform/metrics.ts declares', () => {
    const [dashboard] = ofKind(get('default').manifests, 'ConfigMap').filter((m) =>
      m.metadata.name.endsWith('-dashboard'),
    );
    expect(dashboard?.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const json = JSON.parse(dashboard?.data?.['hit-bridge.json'] ?? '{}') as {
      panels: { targets: { expr: string }[] }[];
    };
    const queried = seriesIn(json.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join('\n'));
    expect(queried.sort()).toEqual(Object.values(METRIC_NAMES).sort());
  });

  it('the alerts query only series the service exposes', () => {
    const [rule] = ofKind(get('hospital').manifests, 'PrometheusRule');
    const queried = seriesIn(JSON.stringify(rule?.spec));
    expect(queried.length).toBeGreaterThan(5);
    expect(queried.filter((series) => !(Object.values(METRIC_NAMES) as string[]).includes(series))).toEqual([]);
  });
});
