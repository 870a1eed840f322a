/** `SecurityGroupApiCalls` → `security-group-api-calls`: construct ids as resource names. */
export function kebab(id: string): string {
  return id.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}
