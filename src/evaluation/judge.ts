/**
 * Pairwise LLM-as-judge. Each prompt is judged twice, with the answers in both orders, so a judge that
 * prefers whatever comes first (position bias) cancels out: a win counts only when both orders agree;
 * a split is a tie. Ties are allowed outright. The rubric is the use case's.
 */

import type { ChatMessage } from '../providers/types';

export type JudgeChoice = 'A' | 'B' | 'tie';
export type Preference = 'candidate' | 'current' | 'tie';

export interface PairwiseVerdict {
  /** Order 1: A = current, B = candidate. Order 2: A = candidate, B = current. */
  firstOrder: JudgeChoice | 'invalid';
  secondOrder: JudgeChoice | 'invalid';
  /** Both orders agree on a model, or a tie (including splits). */
  preference: Preference | 'invalid';
  /** The two orders named opposite models: the judge followed the position, not the content. */
  positionSplit: boolean;
  reasons: string[];
}

export const JUDGE_PARAMS = { temperature: 0, maxTokens: 400 } as const;

function transcript(messages: ChatMessage[]): string {
  return messages.map((m) => `${m.role === 'user' ? 'PLAYER' : m.role === 'assistant' ? 'CHARACTER' : 'SETUP'}: ${m.content}`).join('\n');
}

export function pairwiseJudgeMessages(rubric: string[], conversation: ChatMessage[], answerA: string, answerB: string): ChatMessage[] {
  return [
    {
      role: 'system',
      content: [
        'You judge two answers a game character gave to the same conversation.',
        `Criteria, in order of importance: ${rubric.map((r, i) => `${i + 1}. ${r}`).join('; ')}.`,
        'Ignore the order in which the answers are shown and their length. If they are equally good, say tie.',
        'Reply with JSON only: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}',
      ].join('\n'),
    },
    { role: 'user', content: `CONVERSATION\n${transcript(conversation)}\n\nANSWER A\n${answerA}\n\nANSWER B\n${answerB}` },
  ];
}

export function personaJudgeMessages(persona: string, conversation: ChatMessage[], answer: string): ChatMessage[] {
  return [
    {
      role: 'system',
      content: [
        'You check whether a game character stays in persona.',
        `The persona: ${persona}`,
        'Reply with JSON only: {"consistent": true | false, "reason": "<one sentence>"}',
      ].join('\n'),
    },
    { role: 'user', content: `CONVERSATION\n${transcript(conversation)}\n\nANSWER\n${answer}` },
  ];
}

function firstJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const value = JSON.parse(text.slice(start, end + 1)) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function parseJudgeChoice(text: string): { choice: JudgeChoice | 'invalid'; reason: string } {
  const json = firstJsonObject(text);
  const winner = typeof json?.winner === 'string' ? json.winner.trim().toUpperCase() : undefined;
  const reason = typeof json?.reason === 'string' ? json.reason : '';
  if (winner === 'A' || winner === 'B') return { choice: winner, reason };
  if (winner === 'TIE') return { choice: 'tie', reason };
  return { choice: 'invalid', reason: `unreadable verdict: ${text.slice(0, 120)}` };
}

export function parsePersonaVerdict(text: string): { consistent: boolean | undefined; reason: string } {
  const json = firstJsonObject(text);
  const reason = typeof json?.reason === 'string' ? json.reason : '';
  return typeof json?.consistent === 'boolean' ? { consistent: json.consistent, reason } : { consistent: undefined, reason: `unreadable verdict: ${text.slice(0, 120)}` };
}

/** Order 1 shows (current, candidate), order 2 (candidate, current); both map to a preference. */
export function combineOrders(firstOrder: JudgeChoice | 'invalid', secondOrder: JudgeChoice | 'invalid', reasons: string[] = []): PairwiseVerdict {
  const first: Preference | 'invalid' = firstOrder === 'invalid' ? 'invalid' : firstOrder === 'tie' ? 'tie' : firstOrder === 'A' ? 'current' : 'candidate';
  const second: Preference | 'invalid' = secondOrder === 'invalid' ? 'invalid' : secondOrder === 'tie' ? 'tie' : secondOrder === 'A' ? 'candidate' : 'current';
  const positionSplit = first !== 'invalid' && second !== 'invalid' && first !== 'tie' && second !== 'tie' && first !== second;
  let preference: Preference | 'invalid';
  if (first === 'invalid' || second === 'invalid') preference = 'invalid';
  else if (first === second) preference = first;
  else preference = 'tie'; // a split, or a win in one order and a tie in the other
  return { firstOrder, secondOrder, preference, positionSplit, reasons };
}

/** Candidate's share of the preferences, ties counting half; undefined with no valid verdict. */
export function qualityScore(verdicts: PairwiseVerdict[]): number | undefined {
  const valid = verdicts.filter((v) => v.preference !== 'invalid');
  if (valid.length === 0) return undefined;
  return valid.reduce((s, v) => s + (v.preference === 'candidate' ? 1 : v.preference === 'tie' ? 0.5 : 0), 0) / valid.length;
}
