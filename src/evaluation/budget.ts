import type { Prisma, PrismaClient } from '@prisma/client';
import { NotFoundError } from '../registry/allocations';
import type { ChatMessage } from '../providers/types';

/**
 * A spending cap in USD over the provider calls of one run (a paid ranking: every candidate's
 * evaluation, the current model's answers and the judge). Before each call its worst-case cost is
 * reserved atomically against the cap in the database — so evaluations on several workers share one
 * cap — and after the call the reservation settles to the real cost from the usage the provider
 * reported. The worst case is an upper bound, so the cap is never exceeded: every byte of the prompt
 * counted as a token (no tokenizer makes more tokens than bytes) plus 8 a message, and the call's
 * max output tokens, at the endpoint's price. A call whose endpoint has no known price is refused: it
 * cannot be held to the cap.
 */
export interface EndpointPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Where the price came from (provider, openrouter:<id>, config:providers.<p>.prices). */
  source: string;
}

export interface SpendingReport {
  budgetId: string;
  capUsd: number;
  spentUsd: number;
  /** Reserved by calls in flight (or by calls a crashed worker never settled: counted as spent). */
  reservedUsd: number;
  calls: number;
  /** Calls not made because they could have passed the cap. */
  refused: number;
}

export type Reservation = { ok: true; usd: number; price: EndpointPrice } | { ok: false; reason: string };

export interface BudgetGuard {
  budgetId: string;
  priceOf(priceKey: string): EndpointPrice | undefined;
  reserve(priceKey: string, messages: ChatMessage[], maxTokens: number): Promise<Reservation>;
  /** The real cost of a reserved call, from its usage; without usage the reservation is kept as spent. */
  settle(reservation: Extract<Reservation, { ok: true }>, usage: { inputTokens: number; outputTokens: number } | undefined): Promise<void>;
}

const usd = (price: { inputPerMTok: number; outputPerMTok: number }, inputTokens: number, outputTokens: number) => (inputTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1_000_000;

/** The most tokens a prompt can be: its UTF-8 bytes, plus a few a message for the roles and separators. */
export const worstCaseInputTokens = (messages: ChatMessage[]) => messages.reduce((n, m) => n + Buffer.byteLength(m.content, 'utf8') + 8, 0);

export async function openSpendingBudget(prisma: PrismaClient, input: { purpose: string; capUsd: number; prices: Record<string, EndpointPrice> }): Promise<string> {
  const row = await prisma.spendingBudget.create({ data: { purpose: input.purpose, capUsd: input.capUsd, prices: input.prices as unknown as Prisma.InputJsonValue } });
  return row.id;
}

export async function spendingReport(prisma: PrismaClient, budgetId: string): Promise<SpendingReport> {
  const row = await prisma.spendingBudget.findUnique({ where: { id: budgetId } });
  if (!row) throw new NotFoundError(`spending budget ${budgetId} does not exist`);
  return { budgetId, capUsd: row.capUsd, spentUsd: row.spentUsd, reservedUsd: row.reservedUsd, calls: row.calls, refused: row.refused };
}

export async function createBudgetGuard(prisma: PrismaClient, budgetId: string): Promise<BudgetGuard> {
  const row = await prisma.spendingBudget.findUnique({ where: { id: budgetId } });
  if (!row) throw new NotFoundError(`spending budget ${budgetId} does not exist`);
  const prices = row.prices as unknown as Record<string, EndpointPrice>;
  return {
    budgetId,
    priceOf: (key) => prices[key],
    async reserve(priceKey, messages, maxTokens) {
      const price = prices[priceKey];
      if (!price) {
        await prisma.$executeRaw`update spending_budgets set refused = refused + 1 where id = ${budgetId}::uuid`;
        return { ok: false, reason: `no price is known for ${priceKey}, so its calls cannot be held to the spending cap` };
      }
      const worst = usd(price, worstCaseInputTokens(messages), maxTokens);
      // one statement: concurrent reservations (other prompts, other workers) never pass the cap together
      const reserved = await prisma.$executeRaw`update spending_budgets set reserved_usd = reserved_usd + ${worst}, calls = calls + 1
        where id = ${budgetId}::uuid and spent_usd + reserved_usd + ${worst} <= cap_usd`;
      if (reserved === 1) return { ok: true, usd: worst, price };
      await prisma.$executeRaw`update spending_budgets set refused = refused + 1 where id = ${budgetId}::uuid`;
      const now = await spendingReport(prisma, budgetId);
      return {
        ok: false,
        reason: `spending cap reached: $${now.spentUsd.toFixed(6)} spent and $${now.reservedUsd.toFixed(6)} reserved of $${now.capUsd}; this call could cost up to $${worst.toFixed(6)} (${priceKey})`,
      };
    },
    async settle(reservation, usage) {
      const actual = usage ? usd(reservation.price, usage.inputTokens, usage.outputTokens) : reservation.usd;
      await prisma.$executeRaw`update spending_budgets set reserved_usd = greatest(0, reserved_usd - ${reservation.usd}), spent_usd = spent_usd + ${actual} where id = ${budgetId}::uuid`;
    },
  };
}
