/**
 * Custom search attributes, so the Temporal Web UI and `temporal workflow list` can filter lifecycles
 * by use case, model, step and status. The dev server registers them at start (`mms dev`); a real
 * cluster gets them from `mms doctor --fix`.
 */

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const MmsUseCase = defineSearchAttributeKey('MmsUseCase', SearchAttributeType.KEYWORD);
export const MmsCandidateModel = defineSearchAttributeKey('MmsCandidateModel', SearchAttributeType.KEYWORD);
export const MmsStep = defineSearchAttributeKey('MmsStep', SearchAttributeType.INT);
export const MmsStatus = defineSearchAttributeKey('MmsStatus', SearchAttributeType.KEYWORD);
/**
 * How a lifecycle ended, for the Web UI's list: a rolled-back rollout still *completes* as a workflow,
 * so Temporal's own status cannot tell it from a promotion. One of `mmsOutcomes`; `paused` while a
 * rollout waits for a person.
 */
export const MmsOutcome = defineSearchAttributeKey('MmsOutcome', SearchAttributeType.KEYWORD);
export const mmsOutcomes = ['promoted', 'rolled_back', 'aborted', 'paused'] as const;
export type MmsOutcomeValue = (typeof mmsOutcomes)[number];

export const mmsSearchAttributes = [MmsUseCase, MmsCandidateModel, MmsStep, MmsStatus, MmsOutcome];

/** `Name=Type` as `temporal server start-dev --search-attribute` takes it. */
export const devServerSearchAttributeFlags = (): string[] =>
  mmsSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`]);
