// PromQL as the deploy files use it: shared by check:deploy (scripts/check-deploy.ts) and the metrics test,
// which checks every metric the dashboards and alert rules name against a live scrape.
import { parser as promqlParser } from '@prometheus-io/lezer-promql';

/** Grafana's variables in an expression, replaced so that the expression parses as plain PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b/g, '5m')
    .replace(/\$\{(\w+)(:[^}]*)?\}/g, 'grafana_var_$1')
    .replace(/\$(\w+)/g, 'grafana_var_$1');
}

/** Metric names selected by a PromQL expression; `error` when it does not parse. */
export function promqlMetrics(expr: string): { metrics: string[]; error?: string } {
  const tree = promqlParser.parse(expr);
  const metrics: string[] = [];
  let error: string | undefined;
  tree.iterate({
    enter(node) {
      if (node.type.isError && error === undefined)
        error = `syntax error at offset ${node.from}: "${expr.slice(node.from, node.from + 30)}"`;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(expr.slice(node.from, node.to));
      }
    },
  });
  return { metrics, ...(error ? { error } : {}) };
}
