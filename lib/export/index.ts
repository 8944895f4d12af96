/** Export to other runtimes: ONNX bytes and TF.js Layers artifacts (portable); ./files.ts writes them to disk. */
export { exportOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, type OnnxExportOptions } from './onnx.js'
export { exportTfjs, TFJS_MODEL_FILE, TFJS_WEIGHTS_FILE, type TfjsArtifacts, type TfjsExportOptions, type TfjsWeightSpec } from './tfjs.js'
