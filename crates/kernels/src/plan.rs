//! The Plan as the native engine sees it, decoded from the flat float64 code that
//! lib/engine/native/plan-code.ts writes (one numeric record per part; no JSON parser needed).
//! The layout and every code number are stated once, in lib/plan-schema.ts; `codes` mirrors
//! them here. Decoding checks everything the executor relies on: the version, the codes, integer
//! sizes, that layer widths chain, and that every offset range lies inside the parameter and
//! statistics buffers. `Plan::encode` writes the same code back (the round-trip test in
//! __test__/plan-schema.test.ts proves the two sides agree).

pub const VERSION: f64 = 2.0;
pub const HEADER_LEN: usize = 8;
pub const OPTIMIZER_LEN: usize = 10;
pub const LAYER_LEN: usize = 11;

/// The numbers of lib/plan-schema.ts (`*_CODES`, `NONE`); never renumber one.
pub mod codes {
    pub const NONE: i64 = -1;

    pub mod activation {
        pub const LINEAR: i64 = 0;
        pub const SIGMOID: i64 = 1;
        pub const TANH: i64 = 2;
        pub const RELU: i64 = 3;
        pub const LEAKY_RELU: i64 = 4;
        pub const SOFTMAX: i64 = 5;
    }

    pub mod loss {
        pub const BINARY_CROSS_ENTROPY: i64 = 0;
        pub const CATEGORICAL_CROSS_ENTROPY: i64 = 1;
        pub const SPARSE_CATEGORICAL_CROSS_ENTROPY: i64 = 2;
        pub const MEAN_SQUARED_ERROR: i64 = 3;
    }

    pub mod metric {
        pub const ACCURACY: i64 = 0;
        pub const MEAN_ABSOLUTE_ERROR: i64 = 1;
        pub const MEAN_SQUARED_ERROR: i64 = 2;
    }

    pub mod layer {
        pub const DENSE: i64 = 0;
        pub const DROPOUT: i64 = 1;
        pub const BATCH_NORMALIZATION: i64 = 2;
        pub const ACTIVATION: i64 = 3;
    }

    pub mod optimizer {
        pub const SGD: i64 = 0;
        pub const ADAGRAD: i64 = 1;
        pub const RMSPROP: i64 = 2;
        pub const ADAM: i64 = 3;
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    Softmax,
}

/// `code()` and `from_code()` of a fieldless enum, from one table of its codes.
macro_rules! coded {
    ($ty:ident { $($variant:ident = $code:path),* $(,)? }) => {
        impl $ty {
            pub fn code(self) -> i64 {
                match self {
                    $($ty::$variant => $code,)*
                }
            }

            pub fn from_code(code: i64) -> Option<Self> {
                match code {
                    $($code => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

impl Activation {
    /// The activation's code and the alpha its record carries (0 unless leakyRelu).
    pub fn code(self) -> (i64, f32) {
        use codes::activation::*;
        match self {
            Activation::Linear => (LINEAR, 0.0),
            Activation::Sigmoid => (SIGMOID, 0.0),
            Activation::Tanh => (TANH, 0.0),
            Activation::Relu => (RELU, 0.0),
            Activation::LeakyRelu(alpha) => (LEAKY_RELU, alpha),
            Activation::Softmax => (SOFTMAX, 0.0),
        }
    }

    pub fn from_code(code: i64, alpha: f32) -> Option<Self> {
        use codes::activation::*;
        Some(match code {
            LINEAR => Activation::Linear,
            SIGMOID => Activation::Sigmoid,
            TANH => Activation::Tanh,
            RELU => Activation::Relu,
            LEAKY_RELU => Activation::LeakyRelu(alpha),
            SOFTMAX => Activation::Softmax,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    SparseCategoricalCrossEntropy,
    MeanSquaredError,
}

coded!(Loss {
    BinaryCrossEntropy = codes::loss::BINARY_CROSS_ENTROPY,
    CategoricalCrossEntropy = codes::loss::CATEGORICAL_CROSS_ENTROPY,
    SparseCategoricalCrossEntropy = codes::loss::SPARSE_CATEGORICAL_CROSS_ENTROPY,
    MeanSquaredError = codes::loss::MEAN_SQUARED_ERROR,
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    MeanAbsoluteError,
    MeanSquaredError,
}

coded!(Metric {
    Accuracy = codes::metric::ACCURACY,
    MeanAbsoluteError = codes::metric::MEAN_ABSOLUTE_ERROR,
    MeanSquaredError = codes::metric::MEAN_SQUARED_ERROR,
});

/// Gradient clipping, as Keras names it (lib/plan.ts `ClipPlan`): `norm` per variable,
/// `global_norm` over the whole gradient (at most one of the two), then `value` per component.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clip {
    pub norm: Option<f64>,
    pub global_norm: Option<f64>,
    pub value: Option<f64>,
}

impl Clip {
    pub const NONE: Clip = Clip { norm: None, global_norm: None, value: None };
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd { lr: f64, momentum: f64, nesterov: bool, clip: Clip },
    /// The initial accumulator only fills the slots the TypeScript side creates; it is kept so
    /// that the plan encodes back to its code.
    AdaGrad { lr: f64, initial_accumulator: f64, epsilon: f64, clip: Clip },
    RmsProp { lr: f64, rho: f64, momentum: f64, epsilon: f64, centered: bool, clip: Clip },
    Adam { lr: f64, beta1: f64, beta2: f64, epsilon: f64, weight_decay: f64, clip: Clip },
}

impl Optimizer {
    /// Per-parameter state buffers (as `optimizerSlotCount` in lib/plan.ts).
    pub fn slot_count(&self) -> usize {
        match *self {
            Optimizer::Sgd { momentum, .. } => usize::from(momentum > 0.0),
            Optimizer::AdaGrad { .. } => 1,
            Optimizer::RmsProp { momentum, centered, .. } => 1 + usize::from(momentum > 0.0) + usize::from(centered),
            Optimizer::Adam { .. } => 2,
        }
    }

    pub fn learning_rate(&self) -> f64 {
        match *self {
            Optimizer::Sgd { lr, .. } | Optimizer::AdaGrad { lr, .. } | Optimizer::RmsProp { lr, .. } | Optimizer::Adam { lr, .. } => lr,
        }
    }

    pub fn clip(&self) -> Clip {
        match *self {
            Optimizer::Sgd { clip, .. } | Optimizer::AdaGrad { clip, .. } | Optimizer::RmsProp { clip, .. } | Optimizer::Adam { clip, .. } => clip,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    Dense { inputs: usize, units: usize, activation: Activation, kernel: usize, bias: Option<usize>, l1: f32, l2: f32 },
    /// Rates, momenta and ε stay f64 as in the JS engine: rounding them to f32 first shifts
    /// complements such as 1 − momentum (by ~1e-6 relative for 0.99) and dropout's threshold.
    Dropout { units: usize, rate: f64 },
    BatchNorm { units: usize, momentum: f64, epsilon: f64, gamma: usize, beta: usize, mean: usize, variance: usize },
    Activation { units: usize, activation: Activation },
}

impl Layer {
    pub fn units(&self) -> usize {
        match *self {
            Layer::Dense { units, .. } | Layer::Dropout { units, .. } | Layer::BatchNorm { units, .. } | Layer::Activation { units, .. } => units,
        }
    }
}

/// How 'accuracy' compares outputs with targets (as `accuracyKind` in lib/plan.ts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccuracyKind {
    Sparse,
    Categorical,
    Binary,
}

/// The loss fused with the output activation, computed from the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fused {
    SoftmaxCrossEntropy,
    SigmoidCrossEntropy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub input_size: usize,
    pub output_size: usize,
    pub param_count: usize,
    pub stat_count: usize,
    pub loss: Option<Loss>,
    pub metrics: Vec<Metric>,
    pub optimizer: Option<Optimizer>,
    pub layers: Vec<Layer>,
}

/// One variable of the parameters: `rows × cols` floats from `start`, row-major (a kernel is
/// inputs × units; a bias, γ or β is one row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub start: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Variable {
    /// A one-row variable of `len` floats.
    pub fn row(start: usize, len: usize) -> Variable {
        Variable { start, rows: 1, cols: len }
    }

    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.rows * self.cols
    }
}

impl Plan {
    pub fn output_activation(&self) -> Activation {
        match self.layers.last() {
            Some(Layer::Dense { activation, .. }) | Some(Layer::Activation { activation, .. }) => *activation,
            _ => Activation::Linear,
        }
    }

    pub fn fused(&self) -> Option<Fused> {
        match (self.output_activation(), self.loss) {
            (Activation::Softmax, Some(Loss::CategoricalCrossEntropy | Loss::SparseCategoricalCrossEntropy)) => Some(Fused::SoftmaxCrossEntropy),
            (Activation::Sigmoid, Some(Loss::BinaryCrossEntropy)) => Some(Fused::SigmoidCrossEntropy),
            _ => None,
        }
    }

    pub fn accuracy_kind(&self) -> AccuracyKind {
        match self.loss {
            Some(Loss::SparseCategoricalCrossEntropy) => AccuracyKind::Sparse,
            Some(Loss::BinaryCrossEntropy) => AccuracyKind::Binary,
            _ if self.output_size == 1 => AccuracyKind::Binary,
            _ => AccuracyKind::Categorical,
        }
    }

    /// Columns of a target row: 1 (a class index) for sparse labels.
    pub fn target_cols(&self) -> usize {
        if self.loss == Some(Loss::SparseCategoricalCrossEntropy) {
            1
        } else {
            self.output_size
        }
    }

    pub fn slot_count(&self) -> usize {
        self.optimizer.map_or(0, |o| o.slot_count())
    }

    /// The parameters' variables (per-variable clipping's unit, as `variableRanges` in
    /// lib/plan.ts): each dense kernel and bias, each BatchNorm gamma and beta.
    pub fn variables(&self) -> Vec<Variable> {
        let mut out = Vec::new();
        for layer in &self.layers {
            match *layer {
                Layer::Dense { inputs, units, kernel, bias, .. } => {
                    out.push(Variable { start: kernel, rows: inputs, cols: units });
                    out.extend(bias.map(|b| Variable::row(b, units)));
                }
                Layer::BatchNorm { units, gamma, beta, .. } => out.extend([Variable::row(gamma, units), Variable::row(beta, units)]),
                Layer::Dropout { .. } | Layer::Activation { .. } => {}
            }
        }
        out
    }

    /// Decodes and checks a Plan code.
    pub fn decode(code: &[f64]) -> Result<Plan, String> {
        let mut r = Reader { code, at: 0 };
        let version = r.f64("version")?;
        if version != VERSION {
            return Err(format!("plan code version must be {VERSION}, got {version} (lib/ and the addon come from different builds)"));
        }
        let input_size = r.size("inputSize", 1)?;
        let output_size = r.size("outputSize", 1)?;
        let param_count = r.size("paramCount", 0)?;
        let stat_count = r.size("statCount", 0)?;
        let loss = r.optional_code("loss", Loss::from_code)?;
        let metric_count = r.size("metricCount", 0)?;
        let layer_count = r.size("layerCount", 1)?;
        let mut metrics = Vec::with_capacity(metric_count.min(3));
        for _ in 0..metric_count {
            metrics.push(r.code("metric", Metric::from_code)?);
        }
        let optimizer = r.optimizer()?;
        let mut layers = Vec::with_capacity(layer_count.min(1024));
        let mut width = input_size;
        for i in 0..layer_count {
            let layer = r.layer(width, param_count, stat_count).map_err(|e| format!("layer {i}: {e}"))?;
            width = layer.units();
            layers.push(layer);
        }
        if width != output_size {
            return Err(format!("outputSize {output_size} differs from the last layer's {width} units"));
        }
        if r.at != code.len() {
            return Err(format!("plan code has {} values, expected {}", code.len(), r.at));
        }
        let plan = Plan { input_size, output_size, param_count, stat_count, loss, metrics, optimizer, layers };
        if plan.loss == Some(Loss::SparseCategoricalCrossEntropy) && output_size < 2 {
            return Err("sparse categorical cross-entropy needs at least 2 outputs".into());
        }
        Ok(plan)
    }
}

impl Plan {
    /// The code of this plan, exactly as lib/engine/native/plan-code.ts writes it: the inverse
    /// of `decode`.
    pub fn encode(&self) -> Vec<f64> {
        let header = [self.input_size, self.output_size, self.param_count, self.stat_count].map(|n| n as f64);
        let mut code = vec![VERSION];
        code.extend(header);
        code.extend([self.loss.map_or(codes::NONE, Loss::code), self.metrics.len() as i64, self.layers.len() as i64].map(|c| c as f64));
        code.extend(self.metrics.iter().map(|m| m.code() as f64));
        code.extend(Optimizer::encode(self.optimizer));
        for layer in &self.layers {
            code.extend(layer.encode());
        }
        code
    }
}

impl Optimizer {
    /// The optimizer record: [kind, learningRate, p0 … p4, clipNorm, globalClipNorm, clipValue].
    fn encode(optimizer: Option<Optimizer>) -> [f64; OPTIMIZER_LEN] {
        use codes::optimizer::*;
        let flag = |b: bool| f64::from(u8::from(b));
        let (kind, lr, p, clip) = match optimizer {
            None => (codes::NONE, 0.0, [0.0; 5], Clip::NONE),
            Some(Optimizer::Sgd { lr, momentum, nesterov, clip }) => (SGD, lr, [momentum, flag(nesterov), 0.0, 0.0, 0.0], clip),
            Some(Optimizer::AdaGrad { lr, initial_accumulator, epsilon, clip }) => (ADAGRAD, lr, [initial_accumulator, epsilon, 0.0, 0.0, 0.0], clip),
            Some(Optimizer::RmsProp { lr, rho, momentum, epsilon, centered, clip }) => (RMSPROP, lr, [rho, momentum, epsilon, flag(centered), 0.0], clip),
            Some(Optimizer::Adam { lr, beta1, beta2, epsilon, weight_decay, clip }) => (ADAM, lr, [beta1, beta2, epsilon, weight_decay, 0.0], clip),
        };
        let [p0, p1, p2, p3, p4] = p;
        let off = |v: Option<f64>| v.unwrap_or(f64::NAN);
        [kind as f64, lr, p0, p1, p2, p3, p4, off(clip.norm), off(clip.global_norm), off(clip.value)]
    }
}

impl Layer {
    /// The layer record: [kind, inputs, units, activation, alpha, r0 … r5].
    fn encode(&self) -> [f64; LAYER_LEN] {
        use codes::layer::*;
        let none = Activation::Linear;
        let (kind, inputs, activation, r) = match *self {
            Layer::Dense { inputs, activation, kernel, bias, l1, l2, .. } => {
                (DENSE, inputs, activation, [kernel as f64, bias.map_or(codes::NONE as f64, |b| b as f64), l1.into(), l2.into(), 0.0, 0.0])
            }
            Layer::Dropout { units, rate } => (DROPOUT, units, none, [rate, 0.0, 0.0, 0.0, 0.0, 0.0]),
            Layer::BatchNorm { units, momentum, epsilon, gamma, beta, mean, variance } => {
                (BATCH_NORMALIZATION, units, none, [gamma as f64, beta as f64, mean as f64, variance as f64, momentum, epsilon])
            }
            Layer::Activation { units, activation } => (ACTIVATION, units, activation, [0.0; 6]),
        };
        // Layers without an activation write 0 (linear) in its place, as the TypeScript encoder does.
        let (act, alpha) = activation.code();
        let [r0, r1, r2, r3, r4, r5] = r;
        [kind as f64, inputs as f64, self.units() as f64, act as f64, alpha.into(), r0, r1, r2, r3, r4, r5]
    }
}

struct Reader<'a> {
    code: &'a [f64],
    at: usize,
}

impl Reader<'_> {
    fn f64(&mut self, what: &str) -> Result<f64, String> {
        let v = *self.code.get(self.at).ok_or_else(|| format!("plan code ends before {what}"))?;
        self.at += 1;
        Ok(v)
    }

    fn finite(&mut self, what: &str, min: f64, max: f64) -> Result<f64, String> {
        let v = self.f64(what)?;
        if !(v.is_finite() && v >= min && v <= max) {
            return Err(format!("{what} must be in [{min}, {max}], got {v}"));
        }
        Ok(v)
    }

    fn int(&mut self, what: &str, min: i64, max: i64) -> Result<i64, String> {
        let v = self.f64(what)?;
        if v.fract() != 0.0 || v < min as f64 || v > max as f64 {
            return Err(format!("{what} must be an integer in [{min}, {max}], got {v}"));
        }
        Ok(v as i64)
    }

    /// A code of lib/plan-schema.ts, which `from_code` turns into its value.
    fn code<T>(&mut self, what: &str, from_code: impl Fn(i64) -> Option<T>) -> Result<T, String> {
        let v = self.f64(what)?;
        let known = if v.fract() == 0.0 && v.abs() <= i32::MAX as f64 { from_code(v as i64) } else { None };
        known.ok_or_else(|| format!("{what} code {v} is unknown (lib/plan-schema.ts lists the codes)"))
    }

    /// A code that may be `codes::NONE`.
    fn optional_code<T>(&mut self, what: &str, from_code: impl Fn(i64) -> Option<T>) -> Result<Option<T>, String> {
        self.code(what, |c| if c == codes::NONE { Some(None) } else { from_code(c).map(Some) })
    }

    /// A count or size: an integer ≥ min and below 2³¹ (so products of two stay exact).
    fn size(&mut self, what: &str, min: i64) -> Result<usize, String> {
        Ok(self.int(what, min, i32::MAX as i64)? as usize)
    }

    fn optional(&mut self, what: &str) -> Result<Option<f64>, String> {
        let v = self.f64(what)?;
        if v.is_nan() {
            return Ok(None);
        }
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("{what} must be > 0 or NaN (off), got {v}"));
        }
        Ok(Some(v))
    }

    fn optimizer(&mut self) -> Result<Option<Optimizer>, String> {
        let kind = self.optional_code("optimizer kind", |c| (codes::optimizer::SGD..=codes::optimizer::ADAM).contains(&c).then_some(c))?;
        let lr = self.f64("learningRate")?;
        let [a, b, c, d, _] = [0; 5].map(|_| self.f64("optimizer parameter"));
        let (a, b, c, d) = (a?, b?, c?, d?);
        let clip = Clip { norm: self.optional("clipNorm")?, global_norm: self.optional("globalClipNorm")?, value: self.optional("clipValue")? };
        if clip.norm.is_some() && clip.global_norm.is_some() {
            return Err("clipNorm and globalClipNorm cannot both be set".into());
        }
        let Some(kind) = kind else { return Ok(None) };
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("learningRate must be > 0, got {lr}"));
        }
        let unit = |what: &str, v: f64| if v.is_finite() && (0.0..1.0).contains(&v) { Ok(v) } else { Err(format!("{what} must be in [0, 1), got {v}")) };
        let nonneg = |what: &str, v: f64| if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{what} must be ≥ 0, got {v}")) };
        let flag = |what: &str, v: f64| if v == 0.0 || v == 1.0 { Ok(v == 1.0) } else { Err(format!("{what} must be 0 or 1, got {v}")) };
        use codes::optimizer::*;
        Ok(Some(match kind {
            SGD => Optimizer::Sgd { lr, momentum: unit("momentum", a)?, nesterov: flag("nesterov", b)?, clip },
            ADAGRAD => Optimizer::AdaGrad { lr, initial_accumulator: nonneg("initialAccumulatorValue", a)?, epsilon: nonneg("epsilon", b)?, clip },
            RMSPROP => Optimizer::RmsProp { lr, rho: unit("rho", a)?, momentum: unit("momentum", b)?, epsilon: nonneg("epsilon", c)?, centered: flag("centered", d)?, clip },
            _ => Optimizer::Adam { lr, beta1: unit("beta1", a)?, beta2: unit("beta2", b)?, epsilon: nonneg("epsilon", c)?, weight_decay: nonneg("weightDecay", d)?, clip },
        }))
    }

    /// A layer record: [kind, inputs, units, activation, alpha, r0 … r5], where r0 … r5 are
    /// `LAYER_FIELDS` of lib/plan-schema.ts:
    ///   dense: kernel offset, bias offset (−1: none), l1, l2, 0, 0
    ///   dropout: rate, 0 …
    ///   batch normalisation: γ, β, moving-mean and moving-variance offsets, momentum, ε
    ///   activation: 0 …
    fn layer(&mut self, width: usize, params: usize, stats: usize) -> Result<Layer, String> {
        use codes::layer::*;
        let kind = self.code("layer kind", |c| (DENSE..=ACTIVATION).contains(&c).then_some(c))?;
        let inputs = self.size("inputs", 1)?;
        let units = self.size("units", 1)?;
        let activation = self.code("activation", |c| Activation::from_code(c, 0.0))?;
        let alpha = self.finite("alpha", 0.0, f64::MAX)? as f32;
        let activation = if let Activation::LeakyRelu(_) = activation { Activation::LeakyRelu(alpha) } else { activation };
        let mut r = [0.0; 6];
        for v in &mut r {
            *v = self.f64("layer parameter")?;
        }
        if inputs != width {
            return Err(format!("inputs {inputs} differ from the {width} values the layer receives"));
        }
        if kind != DENSE && units != inputs {
            return Err(format!("units {units} must equal inputs {inputs}"));
        }
        let range = |what: &str, v: f64, len: usize, total: usize| -> Result<usize, String> {
            if v.fract() != 0.0 || v < 0.0 || v + len as f64 > total as f64 {
                return Err(format!("{what} range [{v}, {v} + {len}) is not inside the buffer of {total}"));
            }
            Ok(v as usize)
        };
        let nonneg = |what: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v as f32)
            } else {
                Err(format!("{what} must be ≥ 0, got {v}"))
            }
        };
        Ok(match kind {
            DENSE => Layer::Dense {
                inputs,
                units,
                activation,
                kernel: range("kernel", r[0], inputs * units, params)?,
                bias: if r[1] == -1.0 { None } else { Some(range("bias", r[1], units, params)?) },
                l1: nonneg("l1", r[2])?,
                l2: nonneg("l2", r[3])?,
            },
            DROPOUT if (0.0..1.0).contains(&r[0]) => Layer::Dropout { units, rate: r[0] },
            DROPOUT => return Err(format!("dropout rate must be in [0, 1), got {}", r[0])),
            BATCH_NORMALIZATION => {
                if !(0.0..=1.0).contains(&r[4]) || !(r[5].is_finite() && r[5] > 0.0) {
                    return Err(format!("batch normalisation needs momentum in [0, 1] and epsilon > 0, got {} and {}", r[4], r[5]));
                }
                Layer::BatchNorm {
                    units,
                    gamma: range("gamma", r[0], units, params)?,
                    beta: range("beta", r[1], units, params)?,
                    mean: range("moving mean", r[2], units, stats)?,
                    variance: range("moving variance", r[3], units, stats)?,
                    momentum: r[4],
                    epsilon: r[5],
                }
            }
            _ => Layer::Activation { units, activation },
        })
    }
}
