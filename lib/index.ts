/**
 * backprop: train feedforward neural networks by backpropagation on the CPU.
 *
 *   const model = new Sequential({ seed: 7 })
 *     .add(new Dense({ inputSize: 2, units: 16, activation: 'relu' }))
 *     .add(new Dense({ units: 2, activation: 'softmax' }))
 *   model.compile({ loss: 'categoricalCrossEntropy', optimizer: new Adam(), metrics: ['accuracy'] })
 *   const history = await model.fit(x, y, { epochs: 100, batchSize: 32 })
 */
export { Matrix } from './matrix.js'
export { Sequential } from './model/sequential.js'
export type { CompileOptions, EvaluationResult, PredictOptions, SequentialOptions, WeightOptions } from './model/sequential.js'
export { Activation, BatchNormalization, Dense, Dropout } from './layers/index.js'
export type { Layer } from './layers/index.js'
export type { DenseOptions } from './layers/dense.js'
export type { DropoutOptions } from './layers/dropout.js'
export type { BatchNormalizationOptions } from './layers/batch-normalization.js'
export type { ActivationOptions } from './layers/activation.js'
export type { Activation as ActivationSpec } from './activations.js'
export { AdaGrad, Adam, AdamW, Optimizer, RMSProp, SGD } from './optimizers/index.js'
export type { OptimizerName } from './optimizers/index.js'
export type { OptimizerOptions } from './optimizers/optimizer.js'
export type { SGDOptions } from './optimizers/sgd.js'
export type { AdaGradOptions } from './optimizers/adagrad.js'
export type { RMSPropOptions } from './optimizers/rmsprop.js'
export type { AdamOptions, AdamWOptions } from './optimizers/adam.js'
export { l1, l1l2, l2 } from './regularizers.js'
export type { Regularizer } from './regularizers.js'
export { INITIALIZERS } from './initializers.js'
export type { Initializer, InitializerName } from './initializers.js'
export { ACTIVATIONS, LOSSES, METRICS } from './plan.js'
export type { ActivationName, LossName, MetricName, Plan } from './plan.js'
export { EarlyStopping, earlyStopping } from './training/callbacks.js'
export type { BatchLogs, Callback, CallbackModel, EarlyStoppingOptions, TrainBeginInfo } from './training/callbacks.js'
export { LearningRateScheduler, learningRateScheduler } from './training/learning-rate-scheduler.js'
export type { ScheduleFunction } from './training/learning-rate-scheduler.js'
export { ReduceLROnPlateau, reduceLROnPlateau } from './training/reduce-lr-on-plateau.js'
export type { ReduceLROnPlateauOptions } from './training/reduce-lr-on-plateau.js'
export {
  CosineDecay,
  ExponentialDecay,
  LearningRateSchedule,
  StepDecay,
  cosineDecay,
  exponentialDecay,
  scheduleFromSpec,
  stepDecay,
} from './schedules/index.js'
export type { ScheduleSpec } from './schedules/index.js'
export type { CosineDecayOptions } from './schedules/cosine-decay.js'
export type { ExponentialDecayOptions } from './schedules/exponential-decay.js'
export type { StepDecayOptions } from './schedules/step-decay.js'
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
  SearchProgress,
  SearchSpace,
  SearchStopReason,
  TrialParams,
  TrialResult,
  TrialStatus,
  VegaLiteSpec,
} from './search/index.js'
export { History } from './training/history.js'
export type { EpochLogs, StopReason } from './training/history.js'
export type { FitOptions } from './training/fit.js'
export type { ClassWeight, Features, Targets } from './inputs.js'
export { BackendUnavailableError, DataFileError, ModelFileError, ModelStateError, NotCompiledError, QueueFullError, ShapeError, TrainingDivergedError } from './errors.js'
export { createPredictor } from './serving/predictor.js'
export type { Predictor, PredictorOptions, PredictorStats } from './serving/predictor.js'
export { startServer } from './serving/start-server.js'
export type { LogLevel } from './serving/start-server.js'
export type { PredictionServer, ServerOptions } from './serving/server.js'
export { backendInfo } from './engine/select.js'
export type { Backend, BackendInfo } from './engine/select.js'
export { blobs, circles, linearRegression, moons, sineRegression, spirals, xor } from './data/synthetic.js'
export type { ClassificationData, RegressionData, SyntheticOptions } from './data/synthetic.js'
export { fromArrays } from './data/dataset.js'
export type { ClassificationDataset, FromArraysOptions, LabeledDataset, RegressionDataset, Task } from './data/dataset.js'
export { loadCsv, loadCsvFeatures, readCsvHeader } from './data/csv.js'
export type { CsvFeatures, CsvFeaturesOptions, CsvOptions } from './data/csv.js'
export { readIdx } from './data/idx.js'
export type { IdxTensor, IdxType } from './data/idx.js'
export { IDX_FILES, loadIdxDirectory } from './data/idx-dataset.js'
export type { IdxDirectoryOptions, IdxSplit } from './data/idx-dataset.js'
export { FASHION_MNIST_DIRECTORY, FASHION_MNIST_LABELS, loadFashionMnist } from './data/fashion-mnist.js'
export type { FashionMnistOptions } from './data/fashion-mnist.js'
export { BUILTIN_DATASETS, builtinDatasetInfo, loadDataset } from './data/builtin.js'
export type { BuiltinDatasetInfo, BuiltinDatasetName } from './data/builtin.js'
export { StandardScaler } from './data/standard-scaler.js'
export type { StandardScalerJSON, StandardScalerOptions } from './data/standard-scaler.js'
export { MinMaxScaler } from './data/min-max-scaler.js'
export type { MinMaxScalerJSON, MinMaxScalerOptions } from './data/min-max-scaler.js'
export { scalerFromJSON } from './data/scaler.js'
export { applyPreprocessing } from './data/preprocessing.js'
export type { Preprocessing, PreprocessingJSON } from './data/preprocessing.js'
export type { Scaler, ScalerJSON } from './data/scaler.js'
export { fromOneHot, oneHot } from './data/one-hot.js'
export { takeRows } from './data/rows.js'
export type { RowData } from './data/rows.js'
export { trainTestSplit } from './data/split.js'
export type { TrainTestSplit, TrainTestSplitOptions } from './data/split.js'
export { kFold } from './data/k-fold.js'
export type { Fold, KFoldOptions } from './data/k-fold.js'
export { accuracyScore, precisionRecallF1 } from './metrics/classification.js'
export type { ClassScores, PrecisionRecallF1 } from './metrics/classification.js'
export { confusionMatrix } from './metrics/confusion-matrix.js'
export type { ConfusionMatrixOptions } from './metrics/confusion-matrix.js'
export { classificationReport } from './metrics/classification-report.js'
export { logLoss } from './metrics/log-loss.js'
export type { LogLossOptions } from './metrics/log-loss.js'
export { meanAbsoluteError, meanSquaredError, r2Score } from './metrics/regression.js'
export { writeReport } from './report/write-report.js'
export type { ReportFiles, ReportInput } from './report/write-report.js'
