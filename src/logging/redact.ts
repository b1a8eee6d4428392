/**
 * Secrets must never reach a log line, an error body, the database or a workflow history. Everything
 * that leaves the process as text passes through redactSecrets: it masks every value registered with
 * registerSecret (provider keys read from the environment) and anything shaped like a credential.
 */

/** The secret values registered so far (registerSecret), masked wherever they appear. */
const registered = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Short values would mask ordinary words; no real credential is this short.
  if (value && value.length >= 8) registered.add(value);
}

const credentialPatterns: Array<[RegExp, string]> = [
  [/\bsk-ant-[A-Za-z0-9_-]{8,}/g, '[REDACTED]'], // Anthropic
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, '[REDACTED]'], // OpenAI, OpenRouter
  [/\bhf_[A-Za-z0-9]{8,}/g, '[REDACTED]'], // Hugging Face
  [/\bAIza[0-9A-Za-z_-]{20,}/g, '[REDACTED]'], // Google
  [/\bmms_[A-Za-z0-9_-]{16,}/g, '[REDACTED]'], // our own API keys
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[REDACTED]'],
  [/(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi, '$1[REDACTED]@'], // password inside a connection string
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const secret of registered) out = out.split(secret).join('[REDACTED]');
  for (const [pattern, replacement] of credentialPatterns) out = out.replace(pattern, replacement);
  return out;
}

/** An error safe to show or persist: message redacted, no cause chain carrying request options. */
export function safeErrorMessage(err: unknown): string {
  if (err instanceof Error) return redactSecrets(err.message);
  return redactSecrets(String(err));
}
