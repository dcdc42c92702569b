/**
 * Validates Prometheus Operator resources (ServiceMonitor, PrometheusRule) against the CRD schemas
 * compiled into @kubernetes-models/prometheus-operator: kubeconform's Kubernetes schemas do not
 * cover them. That package is ESM-only, which jest here cannot load, so the chart test runs this
 * file with Node: documents as a JSON array on stdin, one result per document on stdout.
 */
import { readFileSync } from 'node:fs';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

interface Doc {
  kind?: string;
  metadata?: { name?: string };
}

const docs = JSON.parse(readFileSync(0, 'utf8')) as Doc[];
const results = docs.map((doc) => {
  const name = doc.metadata?.name ?? '';
  try {
    if (doc.kind === 'ServiceMonitor')
      new ServiceMonitor(doc as ConstructorParameters<typeof ServiceMonitor>[0]).validate();
    else if (doc.kind === 'PrometheusRule')
      new PrometheusRule(doc as ConstructorParameters<typeof PrometheusRule>[0]).validate();
    else return { kind: doc.kind, name, ok: false, error: 'not a Prometheus Operator kind this script knows' };
    return { kind: doc.kind, name, ok: true };
  } catch (error) {
    return { kind: doc.kind, name, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
});
process.stdout.write(JSON.stringify(results));
