/** `SecurityGroupApiCalls` → `security-group-api-calls`: construct ids as resource names. */
export function kebab(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** The alarms the monitoring stack creates that the remediator acts on: the GPU anomaly of the
 * fleet's group and the abuse alarms (fleet-wide, and per watched caller). One list, so the
 * remediator trusts exactly what the stack made. */
export function actedOnAlarmNames(ollamaAutoScalingGroup: string, watchedCallers: string[]): string[] {
  const names = [`ollama-gpu-utilization-anomaly-${ollamaAutoScalingGroup}`, 'llm-prompt-injection-fleet', 'llm-auth-failures-fleet'];
  for (const caller of watchedCallers) {
    const slug = callerSlug(caller);
    names.push(`llm-prompt-injection-${slug}`, `llm-auth-failures-${slug}`);
  }
  return names;
}

/** A caller id as it appears in alarm names and construct ids. */
export function callerSlug(caller: string): string {
  return caller.replace(/[^A-Za-z0-9-]/g, '-');
}
