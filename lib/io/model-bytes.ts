/**
 * A model as safetensors bytes and back: portable (no Node built-ins), so the browser entry
 * (lib/core.ts) can use it. Reading and writing files is lib/io/model-file.ts.
 */
import { ModelFileError } from '../errors.js'
import { layerFromPlan } from '../layers/index.js'
import { Sequential } from '../model/sequential.js'
import { selectEngine, type Backend } from '../engine/select.js'
import { optimizerFromPlan } from '../optimizers/index.js'
import { optimizerSlotCount, type Plan } from '../plan.js'
import { preprocessingFromJSON, preprocessingToJSON } from '../data/preprocessing.js'
import { History } from '../training/history.js'
import { decodeSafetensors, encodeSafetensors, SafetensorsFormatError, type Tensor } from './safetensors.js'

/** The model file format this version writes and reads. */
export const MODEL_FORMAT_VERSION = 1

const SLOTS_TENSOR = 'optimizer.slots'

interface TrainingMetadata {
  seed: number
  step: number
  epochsTrained: number
  rng: number[]
  /**
   * The learning rate in force when saved (a schedule may have moved it from the optimizer's),
   * so training resumes at the same rate; null for an uncompiled model. Files written before
   * schedules existed lack it and resume at the optimizer's rate.
   */
  learningRate?: number | null
}

/**
 * A model as safetensors bytes: one tensor per weight (named layers.<i>.<weight>), the
 * optimizer's state, and in the metadata the Plan and the training state (step, epochs, PRNG).
 */
/**
 * Where a checkpoint was taken: in lifetime epoch `epoch` (= epochsTrained) after `batchesDone`
 * of its batches (0 at an epoch's end), and a description of the run that wrote it (the CLI's
 * settings), so a resume can continue it and refuse different settings.
 */
export interface CheckpointPosition {
  epoch: number
  batchesDone: number
  run?: Record<string, unknown>
}

export function modelToBytes(model: Sequential, checkpoint?: CheckpointPosition): Uint8Array {
  const plan = model.build().plan
  const state = model.network.readState()
  const tensors = new Map<string, Tensor>()
  for (const spec of model.weightSpecs()) {
    const [rows, cols] = spec.shape
    const source = spec.buffer === 'params' ? state.params : state.stats
    tensors.set(spec.name, { shape: spec.vector ? [cols] : [rows, cols], data: source.subarray(spec.offset, spec.offset + rows * cols) })
  }
  const slotCount = optimizerSlotCount(plan.optimizer)
  if (slotCount > 0) tensors.set(SLOTS_TENSOR, { shape: [slotCount, plan.paramCount], data: state.slots })
  const training: TrainingMetadata = {
    seed: model.seed,
    step: state.step,
    epochsTrained: model.epochsTrained,
    rng: Array.from(state.rng),
    learningRate: model.compiled ? model.learningRate : null,
  }
  const metadata: Record<string, string> = {
    format: 'backprop',
    formatVersion: String(MODEL_FORMAT_VERSION),
    plan: JSON.stringify(plan),
    training: JSON.stringify(training),
  }
  // Optional entries, added after version 1 first shipped: readers that predate them ignore
  // them, and files without them still load.
  if (model.preprocessing) metadata.preprocessing = JSON.stringify(preprocessingToJSON(model.preprocessing))
  if (model.trainingHistory.epochs > 0) metadata.history = JSON.stringify(model.trainingHistory)
  if (checkpoint) metadata.checkpoint = JSON.stringify(checkpoint)
  return encodeSafetensors(tensors, metadata)
}

/** Rebuilds a model from safetensors bytes; `source` names the file in error messages. */
export function modelFromBytes(bytes: Uint8Array, source: string, backend: Backend = 'auto'): Sequential {
  const fail = (why: string): never => {
    throw new ModelFileError(`${source} is not a readable backprop model: ${why}`, source)
  }
  let decoded: ReturnType<typeof decodeSafetensors>
  try {
    decoded = decodeSafetensors(bytes)
  } catch (error) {
    if (error instanceof SafetensorsFormatError) fail(error.message)
    throw error
  }
  const { tensors, metadata } = decoded!
  if (metadata.format !== 'backprop') fail(`its metadata does not say format 'backprop' (a safetensors file from another tool?)`)
  if (metadata.formatVersion !== String(MODEL_FORMAT_VERSION)) {
    fail(`it has format version ${String(metadata.formatVersion)}, and this backprop reads version ${MODEL_FORMAT_VERSION}`)
  }
  let plan: Plan
  let training: TrainingMetadata
  try {
    plan = JSON.parse(metadata.plan!) as Plan
    training = JSON.parse(metadata.training!) as TrainingMetadata
  } catch {
    return fail('its plan or training metadata is not valid JSON')
  }
  migrateClip(plan)
  // Refuse a plan whose buffers the file cannot hold before allocating them (a hostile file
  // could otherwise ask for gigabytes): the counts it states, and what its layers need.
  const claimed = Number(plan?.paramCount) + Number(plan?.statCount)
  if (!Array.isArray(plan?.layers) || !(claimed * 4 <= bytes.length)) {
    fail(`its plan claims ${claimed} weights, more than the file's ${bytes.length} bytes can hold`)
  }
  const needed = layerWeights(plan.layers, Number(plan.inputSize))
  if (!(needed * 4 <= bytes.length)) fail(`its layers declare ${needed} weights (${(needed * 4).toLocaleString('en-US')} bytes), more than the file's ${bytes.length} bytes can hold`)
  // An engine that cannot load (or a bad BACKPROP_BACKEND) is not the file's fault: let it throw as is.
  selectEngine(backend)
  let model: Sequential
  try {
    model = new Sequential({ seed: training.seed, backend, layers: plan.layers.map(layerFromPlan) })
    if (plan.loss !== null && plan.optimizer !== null) {
      model.compile({ loss: plan.loss, optimizer: optimizerFromPlan(plan.optimizer), metrics: plan.metrics })
    } else {
      model.build()
    }
  } catch (error) {
    return fail(`its plan describes an invalid model (${(error as Error).message})`)
  }
  if (JSON.stringify(model!.plan) !== JSON.stringify(plan)) fail('its plan is inconsistent (the layer layout does not match)')
  const state = model!.network.readState()
  for (const spec of model!.weightSpecs()) {
    const t = tensors.get(spec.name)
    const [rows, cols] = spec.shape
    const shape = spec.vector ? [cols] : [rows, cols]
    if (!t) fail(`the tensor '${spec.name}' is missing`)
    if (t!.shape.join() !== shape.join()) fail(`the tensor '${spec.name}' has shape [${t!.shape.join(', ')}], expected [${shape.join(', ')}]`)
    ;(spec.buffer === 'params' ? state.params : state.stats).set(t!.data, spec.offset)
  }
  const slotCount = optimizerSlotCount(plan.optimizer)
  if (slotCount > 0) {
    const slots = tensors.get(SLOTS_TENSOR)
    if (!slots || slots.data.length !== slotCount * plan.paramCount) fail(`the optimizer state '${SLOTS_TENSOR}' is missing or has the wrong size`)
    state.slots = slots!.data
  }
  const rng = training.rng
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff) || !isCount(training.step) || !isCount(training.epochsTrained)) {
    fail('its training state (step, epochs, PRNG) is invalid')
  }
  state.rng = Uint32Array.from(rng)
  state.step = training.step
  for (const [name, t] of [['params', state.params], ['stats', state.stats], ['optimizer state', state.slots]] as const) {
    if (!t.every(Number.isFinite)) fail(`its ${name} hold NaN or infinite values`)
  }
  const learningRate = training.learningRate
  if (learningRate != null) {
    if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0 || !model!.compiled) {
      fail(`its training state has learning rate ${JSON.stringify(learningRate)}; expected a finite number ≥ 0 for a compiled model`)
    }
    model!.learningRate = learningRate
  }
  model!.restoreState(state, training.epochsTrained)
  if (metadata.preprocessing !== undefined) {
    try {
      model!.preprocessing = preprocessingFromJSON(JSON.parse(metadata.preprocessing), plan.inputSize, plan.outputSize)
    } catch (error) {
      fail(`its preprocessing metadata is invalid: ${(error as Error).message}`)
    }
  }
  if (metadata.history !== undefined) {
    try {
      model!.trainingHistory.append(History.fromJSON(JSON.parse(metadata.history)))
    } catch (error) {
      fail(`its training history is invalid: ${(error as Error).message}`)
    }
  }
  if (metadata.checkpoint !== undefined) {
    let c: CheckpointPosition | null = null
    try {
      c = JSON.parse(metadata.checkpoint) as CheckpointPosition
    } catch {
      // reported below
    }
    if (!c || !isCount(c.epoch) || !isCount(c.batchesDone) || c.epoch !== training.epochsTrained || (c.run !== undefined && (typeof c.run !== 'object' || c.run === null))) {
      fail(`its checkpoint position ${metadata.checkpoint} is invalid (expected the epoch in progress, ${training.epochsTrained}, and the batches done in it)`)
    }
    model!.checkpoint = c
  }
  return model!
}

/**
 * The weights and statistics a plan's layers need, from their declared widths alone (NaN when a
 * width is not a positive integer), so a file can be checked before anything is allocated.
 */
/**
 * Files written before clipping followed Keras's names meant the global norm by `clip.norm`
 * (their clip has no `globalNorm`): read it as `globalNorm`, what it computed.
 */
function migrateClip(plan: Plan): void {
  const optimizer = plan?.optimizer as { clip?: Record<string, unknown> } | null | undefined
  const clip = optimizer?.clip
  if (clip !== null && typeof clip === 'object' && !('globalNorm' in clip)) {
    optimizer!.clip = { norm: null, globalNorm: clip.norm ?? null, value: clip.value ?? null }
  }
}

function layerWeights(layers: unknown[], inputSize: number): number {
  let width = inputSize
  let total = 0
  for (const layer of layers as { kind?: unknown; units?: unknown; inputs?: unknown; biasOffset?: unknown }[]) {
    const units = Number(layer?.units)
    if (!Number.isSafeInteger(width) || width < 1 || !Number.isSafeInteger(units) || units < 1) return NaN
    if (layer.kind === 'dense') total += width * units + (layer.biasOffset === -1 ? 0 : units)
    else if (layer.kind === 'batchNormalization') total += 4 * units
    width = units
  }
  return total
}

/** A non-negative integer (a step or epoch count). */
function isCount(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0
}

