/**
 * The activities of the Python GPU worker (workers/gpu, task queue mms-gpu), called by name from the
 * TypeScript workflows (Temporal's polyglot pattern). Types only: the implementations are in
 * workers/gpu/mms_gpu/activities.py, and these shapes are the JSON each one takes and returns.
 */

export interface LoraSettings {
  rank?: number;
  alpha?: number;
  dropout?: number;
  targetModules?: string[];
}

export interface TrainAdapterInput {
  baseModelPath: string;
  trainFile: string;
  validationFile: string;
  /** Job directory: checkpoints/ (resume points) and adapter/ (the result). */
  outputDir: string;
  method?: 'lora' | 'full';
  lora?: LoraSettings;
  maxSteps?: number;
  learningRate?: number;
  batchSize?: number;
  evalSteps?: number;
  saveSteps?: number;
  maxLength?: number;
  seed?: number;
  threads?: number;
}

/** Heartbeat details of gpuTrainAdapter (what `mms pipeline status` shows). */
export interface TrainProgress {
  // loading: importing, loading the model and building the trainer (heartbeated by a keep-alive thread).
  phase: 'loading' | 'evaluating' | 'starting' | 'resuming' | 'training' | 'checkpointed';
  step: number;
  maxSteps: number;
  loss: number | null;
  evalLoss: number | null;
  lastCheckpointStep: number | null;
  resumedFromStep: number;
  stopped: boolean;
}

export interface TrainAdapterResult {
  stopped: boolean;
  method: 'lora' | 'full';
  step: number;
  maxSteps: number;
  /** 0 on a fresh start; the checkpoint step a retried attempt continued from. */
  resumedFromStep: number;
  stepsThisAttempt: number;
  secondsPerStep: number | null;
  initialEvalLoss: number;
  finalEvalLoss: number;
  evalLossCurve: Array<{ step: number; evalLoss: number }>;
  trainLossCurve: Array<{ step: number; loss: number }>;
  adapterPath: string;
  adapterBytes: number;
  trainableParameters: number;
}

export interface BuildTinyBaseModelInput {
  outputDir: string;
  /** Chat JSONL whose texts train the byte-level BPE tokenizer. */
  dataFile: string;
  spec?: Partial<{ vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number; max_position_embeddings: number; seed: number }>;
}

export interface BuildTinyBaseModelResult {
  path: string;
  parameters: number;
  vocabSize: number;
}

export interface DownloadModelInput {
  /** Hub base URL (https://huggingface.co, or a mirror). */
  endpoint: string;
  repo: string;
  /** Branch, tag or sha; resolved once to a commit sha that pins every file. */
  revision?: string;
  modelsDir: string;
  /** Exact files; default: the safetensors weights, their index, config and tokenizer files. */
  files?: string[];
  /** Environment variable holding a hub token (gated models); never the token itself. */
  tokenEnv?: string;
  /** Bytes that must stay free after the download. */
  minFreeBytes?: number;
}

/** Heartbeat details of gpuDownloadModel: enough to resume (file + offset) and to show progress. */
export interface DownloadProgress {
  sha: string;
  file: string;
  offset: number;
  done: string[];
  bytesDone: number;
  bytesTotal: number;
}

export interface DownloadModelResult {
  repo: string;
  revision: string;
  sha: string;
  path: string;
  bytes: number;
  files: Array<{ path: string; bytes: number; sha256: string | null }>;
  /** Files a retried attempt resumed with a Range request, and from which byte. */
  resumedAt: Record<string, number>;
  seconds: number;
}

export interface PrepareServingCopyInput {
  /** The base checkpoint (Hugging Face layout). Its GGUF is written once and reused by every copy. */
  baseModelPath: string;
  /** The copy's PEFT adapter; absent for a copy served without one. */
  adapterPath?: string;
  outputDir: string;
  /** GGUF quantisation of the served copy (q8_0, q4_K_M, …; f32 = unquantised). */
  quantization?: string;
  /** Held-out chats the quantised copy's quality is measured on against the unquantised one. */
  validationFile?: string;
  qualitySamples?: number;
}

export interface GgufFile {
  path: string;
  bytes: number;
  seconds?: number;
  reused?: boolean;
}

export interface PrepareServingCopyResult {
  base: GgufFile;
  adapter?: GgufFile;
  quantized?: GgufFile & { quantization: string; quality?: { referencePerplexity: number; perplexity: number; perplexityRatio: number; top1Agreement: number | null; tokens: number } };
  servedModelPath: string;
  servedLoraPath: string | null;
}

export interface StartLlamaServerInput {
  modelPath: string;
  loraPath?: string | null;
  host?: string;
  port: number;
  /** The model name the server answers to (the copy's upstream model). */
  alias: string;
  contextLength?: number;
  /** Pid files and logs of the servers this node runs. */
  stateDir: string;
}

export interface StartLlamaServerResult {
  pid: number;
  baseUrl: string;
  reused: boolean;
  startSeconds?: number;
}

export interface GpuActivities {
  gpuTrainAdapter(input: TrainAdapterInput): Promise<TrainAdapterResult>;
  gpuBuildTinyBaseModel(input: BuildTinyBaseModelInput): Promise<BuildTinyBaseModelResult>;
  gpuDownloadModel(input: DownloadModelInput): Promise<DownloadModelResult>;
  gpuPrepareServingCopy(input: PrepareServingCopyInput): Promise<PrepareServingCopyResult>;
  gpuStartLlamaServer(input: StartLlamaServerInput): Promise<StartLlamaServerResult>;
  gpuStopLlamaServer(input: { stateDir: string; port: number }): Promise<{ stopped: boolean; pid?: number }>;
}
