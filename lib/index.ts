/**
 * backprop: train feedforward neural networks by backpropagation on the CPU.
 *
 *   const model = new Sequential({ seed: 7 })
 *     .add(new Dense({ inputSize: 2, units: 16, activation: 'relu' }))
 *     .add(new Dense({ units: 2, activation: 'softmax' }))
 *   model.compile({ loss: 'categoricalCrossEntropy', optimizer: new Adam(), metrics: ['accuracy'] })
 *   const history = await model.fit(x, y, { epochs: 100, batchSize: 32 })
 */
export * from './core.js'
export {
  SearchResult,
  WorkerStartError,
  choice,
  gridSearch,
  intUniform,
  logUniform,
  parameterGrid,
  parameterSampler,
  progressBar,
  randomSearch,
  trialSeed,
  uniform,
} from './search/index.js'
export type {
  Axis,
  BuildContext,
  BuildFunction,
  Distribution,
  ModelSpec,
  ProgressStream,
  RandomSearchOptions,
  ScheduleOption,
  ScoreMetric,
  SearchOptions,
  DistributedOptions,
  SearchProgress,
  SearchSpace,
  SearchStopReason,
  TrialParams,
  TrialResult,
  TrialStatus,
  VegaLiteSpec,
} from './search/index.js'
export { distributedInfo } from './distributed/mpi.js'
export type { DistributedInfo } from './distributed/mpi.js'
export { startWorker } from './distributed/worker.js'
export type { BackpropWorker, WorkerOptions } from './distributed/worker.js'
export type { DataReference } from './distributed/distributed-options.js'
export { createPredictor } from './serving/predictor.js'
export type { Predictor, PredictorOptions, PredictorStats } from './serving/predictor.js'
export { startServer } from './serving/start-server.js'
export type { LogLevel } from './serving/start-server.js'
export type { PredictionServer, ServerOptions } from './serving/server.js'
export { loadCsv, loadCsvFeatures, readCsvHeader } from './data/csv.js'
export type { CsvFeatures, CsvFeaturesOptions, CsvOptions } from './data/csv.js'
export { readIdx } from './data/idx.js'
export type { IdxTensor, IdxType } from './data/idx.js'
export { IDX_FILES, loadIdxDirectory } from './data/idx-dataset.js'
export type { IdxDirectoryOptions, IdxSplit } from './data/idx-dataset.js'
export { FASHION_MNIST_DIRECTORY, FASHION_MNIST_LABELS, loadFashionMnist } from './data/fashion-mnist.js'
export type { FashionMnistOptions } from './data/fashion-mnist.js'
export { BUILTIN_DATASETS, BUILTIN_ORDER_SEED, builtinDatasetInfo, loadDataset } from './data/builtin.js'
export type { BuiltinDatasetInfo, BuiltinDatasetName } from './data/builtin.js'
export { data, DataSource } from './data/sources/index.js'
export type { ColumnarOptions, CsvSourceOptions, DataSourceLike, EpochContext, GeneratorFunction, RowBlock, SourceShape } from './data/sources/index.js'
export { ModelCheckpoint, modelCheckpoint } from './training/model-checkpoint.js'
export type { ModelCheckpointOptions } from './training/model-checkpoint.js'
export { writeReport } from './report/write-report.js'
export type { ReportFiles, ReportInput } from './report/write-report.js'
