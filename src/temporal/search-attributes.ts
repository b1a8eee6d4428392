import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, so the Temporal Web UI and `temporal workflow list` can filter lifecycles
 * by use case, model, step and status. The dev server registers them at start (`mms dev`); a real
 * cluster gets them from `mms doctor --fix`.
 */
export const MmsUseCase = defineSearchAttributeKey('MmsUseCase', SearchAttributeType.KEYWORD);
export const MmsCandidateModel = defineSearchAttributeKey('MmsCandidateModel', SearchAttributeType.KEYWORD);
export const MmsStep = defineSearchAttributeKey('MmsStep', SearchAttributeType.INT);
export const MmsStatus = defineSearchAttributeKey('MmsStatus', SearchAttributeType.KEYWORD);

export const mmsSearchAttributes = [MmsUseCase, MmsCandidateModel, MmsStep, MmsStatus];

/** `Name=Type` as `temporal server start-dev --search-attribute` takes it. */
export const devServerSearchAttributeFlags = (): string[] =>
  mmsSearchAttributes.flatMap((key) => ['--search-attribute', `${key.name}=${key.type === SearchAttributeType.INT ? 'Int' : 'Keyword'}`]);
