/**
 * Personal data out of prompts before they are stored in a suite: players write their e-mail, phone
 * number or card into chats, and a prompt set is kept and shown in reports. Each match is replaced by
 * a typed placeholder, so the prompt still reads naturally for both models.
 */

const luhn = (digits: string): boolean => {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
};

const rules: Array<{ label: string; pattern: RegExp; accept?: (match: string) => boolean }> = [
  { label: 'EMAIL', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  { label: 'IBAN', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g },
  { label: 'CARD', pattern: /\b\d(?:[ -]?\d){12,18}\b/g, accept: (m) => luhn(m.replace(/\D/g, '')) },
  { label: 'SSN', pattern: /\b\d{3}-\d{2}-\d{4}\b/g },
  { label: 'IP', pattern: /\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b/g },
  // International or national phone numbers: 8+ digits with the usual separators, optionally +country.
  { label: 'PHONE', pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)/g, accept: (m) => m.replace(/\D/g, '').length >= 8 },
];

export interface RedactionResult {
  text: string;
  /** Placeholders inserted, by kind. */
  found: Record<string, number>;
}

export function redactPii(text: string): RedactionResult {
  const found: Record<string, number> = {};
  let out = text;
  for (const rule of rules) {
    out = out.replace(rule.pattern, (match) => {
      if (rule.accept && !rule.accept(match)) return match;
      found[rule.label] = (found[rule.label] ?? 0) + 1;
      return `[${rule.label}]`;
    });
  }
  return { text: out, found };
}
