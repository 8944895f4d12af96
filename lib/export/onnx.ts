/**
 * A model as an ONNX file (opset 13, IR version 7) that onnxruntime and other ONNX runtimes run
 * for inference. Every layer maps to standard operators, so nothing is refused:
 *   Dense → Gemm (the kernel is already inputs × units, row-major; no bias → no C input),
 *   activations → Relu / LeakyRelu (alpha) / Sigmoid / Tanh / Softmax (axis −1), linear → none,
 *   BatchNormalization → BatchNormalization with the running mean and variance (inference form,
 *   not folded into the weights, so the exported arithmetic is the model's own),
 *   Dropout → nothing (it is the identity at inference).
 * With `includePreprocessing`, the saved scaler comes first: Sub(mean) then Div(scale) for a
 * StandardScaler, Mul(scale) then Add(offset) for a MinMaxScaler.
 *
 * Message and field numbers are those of the official schema, onnx/onnx.proto
 * (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto, read at commit f754691).
 */
import { ModelStateError } from '../errors.js'
import type { Sequential } from '../model/sequential.js'
import type { ActivationPlan } from '../plan.js'
import { checkBoolean, checkOptions, optional } from '../validate.js'
import { ProtoWriter } from './protobuf.js'

export interface OnnxExportOptions {
  /**
   * Put the model's saved scaler (`model.preprocessing.scaler`) into the graph as leading
   * Sub/Div (standard) or Mul/Add (min-max) nodes, so the exported model takes raw features.
   * Default false: the graph takes scaled features, as `model.predict` does, and the scaler is
   * recorded in the metadata. Throws a ModelStateError when the model has no saved scaler.
   */
  includePreprocessing?: boolean
}

/** The operator set the graph uses (ONNX 1.8) and the IR version that goes with it. */
export const ONNX_OPSET = 13
const IR_VERSION = 7

/**
 * Protobuf messages are limited to 2 GiB; the weights may take most of it, leaving room for the
 * graph and metadata.
 */
const MAX_WEIGHT_BYTES = 2 ** 31 - 2 ** 24

/** The graph's input and output names. */
export const ONNX_INPUT = 'input'
export const ONNX_OUTPUT = 'output'

/** TensorProto.DataType.FLOAT */
const FLOAT = 1
/** AttributeProto.AttributeType */
const ATTRIBUTE_FLOAT = 1
const ATTRIBUTE_INT = 2

type ExportableModel = Pick<Sequential, 'build' | 'plan' | 'network' | 'preprocessing'>

/** The ONNX file of a model, as bytes. */
export function exportOnnx(model: ExportableModel, options: OnnxExportOptions = {}): Uint8Array {
  const o = checkOptions('exportOnnx options', options, ['includePreprocessing'])
  const includePreprocessing = optional(o.includePreprocessing, false, (v) => checkBoolean('exportOnnx includePreprocessing', v))
  const plan = model.build().plan
  const weightBytes = (plan.paramCount + plan.statCount) * 4
  if (weightBytes > MAX_WEIGHT_BYTES) {
    throw new RangeError(`exportOnnx: the model's ${plan.paramCount + plan.statCount} weights take ${weightBytes} bytes, but an ONNX file is one protobuf message, limited to 2 GiB (ONNX external data is not supported)`)
  }
  const { params, stats } = model.network.readState()
  const graph = new GraphBuilder()
  const scaler = model.preprocessing?.scaler ?? null
  if (includePreprocessing) {
    if (scaler === null) {
      throw new ModelStateError('exportOnnx includePreprocessing: the model has no saved scaler (model.preprocessing.scaler) to include')
    }
    const json = scaler.toJSON()
    if (json.kind === 'standard') {
      graph.node('Sub', [graph.current, graph.constant('scaler.mean', [json.mean.length], json.mean)])
      graph.node('Div', [graph.current, graph.constant('scaler.scale', [json.scale.length], json.scale)])
    } else {
      graph.node('Mul', [graph.current, graph.constant('scaler.scale', [json.scale.length], json.scale)])
      graph.node('Add', [graph.current, graph.constant('scaler.offset', [json.offset.length], json.offset)])
    }
  }
  const slice = (buffer: Float32Array, offset: number, length: number) => buffer.subarray(offset, offset + length)
  plan.layers.forEach((layer, i) => {
    switch (layer.kind) {
      case 'dense': {
        const inputs = [graph.current, graph.constant(`layers.${i}.kernel`, [layer.inputs, layer.units], slice(params, layer.kernelOffset, layer.inputs * layer.units))]
        if (layer.biasOffset >= 0) inputs.push(graph.constant(`layers.${i}.bias`, [layer.units], slice(params, layer.biasOffset, layer.units)))
        graph.node('Gemm', inputs)
        graph.activation(layer.activation)
        return
      }
      case 'batchNormalization': {
        const n = layer.units
        graph.node('BatchNormalization', [
          graph.current,
          graph.constant(`layers.${i}.gamma`, [n], slice(params, layer.gammaOffset, n)),
          graph.constant(`layers.${i}.beta`, [n], slice(params, layer.betaOffset, n)),
          graph.constant(`layers.${i}.movingMean`, [n], slice(stats, layer.meanOffset, n)),
          graph.constant(`layers.${i}.movingVariance`, [n], slice(stats, layer.varianceOffset, n)),
        ], [floatAttribute('epsilon', layer.epsilon), floatAttribute('momentum', layer.momentum)])
        return
      }
      case 'activation':
        graph.activation(layer.activation)
        return
      case 'dropout':
        return // the identity at inference
    }
  })

  const metadata: [string, string][] = []
  const p = model.preprocessing
  if (p?.featureNames) metadata.push(['feature_names', JSON.stringify(p.featureNames)])
  if (p?.labelNames) metadata.push(['class_names', JSON.stringify(p.labelNames)])
  if (p?.targetName) metadata.push(['target_name', p.targetName])
  if (scaler) {
    metadata.push(['scaler', JSON.stringify(scaler.toJSON())])
    metadata.push(['scaler_in_graph', String(includePreprocessing)])
  }

  const modelProto = new ProtoWriter()
    .int(1, IR_VERSION) // ir_version
    .string(2, 'backprop-nn') // producer_name
    .message(7, graph.finish(plan.inputSize, plan.outputSize)) // graph
    .message(8, new ProtoWriter().string(1, '').int(2, ONNX_OPSET)) // opset_import: the default domain
  for (const [key, value] of metadata) modelProto.message(14, new ProtoWriter().string(1, key).string(2, value)) // metadata_props
  return modelProto.finish()
}

/** Appends nodes to a chain that starts at the graph input; each node feeds the next. */
class GraphBuilder {
  /** The name of the value the next node reads. */
  current = ONNX_INPUT
  private readonly nodes: { op: string; inputs: string[]; output: string; attributes: ProtoWriter[] }[] = []
  private readonly initializers: ProtoWriter[] = []

  node(op: string, inputs: string[], attributes: ProtoWriter[] = []): void {
    const output = `${op.toLowerCase()}_${this.nodes.length}`
    this.nodes.push({ op, inputs, output, attributes })
    this.current = output
  }

  activation(activation: ActivationPlan): void {
    switch (activation.name) {
      case 'linear':
        return
      case 'relu':
        return this.node('Relu', [this.current])
      case 'leakyRelu':
        return this.node('LeakyRelu', [this.current], [floatAttribute('alpha', activation.alpha!)])
      case 'sigmoid':
        return this.node('Sigmoid', [this.current])
      case 'tanh':
        return this.node('Tanh', [this.current])
      case 'softmax':
        return this.node('Softmax', [this.current], [intAttribute('axis', -1)])
    }
  }

  /** A float32 initializer; returns its name. */
  constant(name: string, dims: number[], values: ArrayLike<number>): string {
    const tensor = new ProtoWriter()
    for (const d of dims) tensor.int(1, d) // dims
    tensor.int(2, FLOAT).packedFloats(4, values).string(8, name) // data_type, float_data, name
    this.initializers.push(tensor)
    return name
  }

  /** The GraphProto: input [batch, inputs] and output [batch, outputs], both float32. */
  finish(inputs: number, outputs: number): ProtoWriter {
    // The last node writes the graph output; a chain without nodes (only Dropout, or linear
    // activations) passes its input through an Identity.
    const last = this.nodes[this.nodes.length - 1]
    if (last && last.output === this.current) last.output = ONNX_OUTPUT
    else this.nodes.push({ op: 'Identity', inputs: [this.current], output: ONNX_OUTPUT, attributes: [] })
    const graph = new ProtoWriter()
    this.nodes.forEach(({ op, inputs, output, attributes }, i) => {
      const node = new ProtoWriter()
      for (const input of inputs) node.string(1, input) // input
      node.string(2, output).string(3, `${op}_${i}`).string(4, op) // output, name, op_type
      for (const attribute of attributes) node.message(5, attribute) // attribute
      graph.message(1, node) // node
    })
    graph.string(2, 'backprop') // name
    for (const tensor of this.initializers) graph.message(5, tensor) // initializer
    graph.message(11, valueInfo(ONNX_INPUT, inputs)) // input
    graph.message(12, valueInfo(ONNX_OUTPUT, outputs)) // output
    return graph
  }
}

/** A float32 matrix value with a dynamic first dimension named 'batch'. */
function valueInfo(name: string, columns: number): ProtoWriter {
  const shape = new ProtoWriter()
    .message(1, new ProtoWriter().string(2, 'batch')) // dim: dim_param
    .message(1, new ProtoWriter().int(1, columns)) // dim: dim_value
  const tensorType = new ProtoWriter().int(1, FLOAT).message(2, shape) // elem_type, shape
  return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType)) // name, type.tensor_type
}

function floatAttribute(name: string, value: number): ProtoWriter {
  return new ProtoWriter().string(1, name).float(2, value).int(20, ATTRIBUTE_FLOAT) // name, f, type
}

function intAttribute(name: string, value: number): ProtoWriter {
  return new ProtoWriter().string(1, name).int(3, value).int(20, ATTRIBUTE_INT) // name, i, type
}
