//! The Plan as the native engine sees it, decoded from the flat float64 code that
//! lib/engine/native/plan-code.ts writes (one numeric record per part; no JSON parser needed).
//! Decoding checks everything the executor relies on: codes, integer sizes, that layer widths
//! chain, and that every offset range lies inside the parameter and statistics buffers.

pub const FORMAT: f64 = 1.0;
pub const HEADER_LEN: usize = 8;
pub const OPTIMIZER_LEN: usize = 9;
pub const LAYER_LEN: usize = 11;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Linear,
    Sigmoid,
    Tanh,
    Relu,
    LeakyRelu(f32),
    Softmax,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    SparseCategoricalCrossEntropy,
    MeanSquaredError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Accuracy,
    MeanAbsoluteError,
    MeanSquaredError,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clip {
    pub norm: Option<f64>,
    pub value: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd { lr: f64, momentum: f64, nesterov: bool, clip: Clip },
    AdaGrad { lr: f64, epsilon: f64, clip: Clip },
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

    /// Decodes and checks a Plan code.
    pub fn decode(code: &[f64]) -> Result<Plan, String> {
        let mut r = Reader { code, at: 0 };
        if r.f64("format")? != FORMAT {
            return Err(format!("plan code format must be {FORMAT}"));
        }
        let input_size = r.size("inputSize", 1)?;
        let output_size = r.size("outputSize", 1)?;
        let param_count = r.size("paramCount", 0)?;
        let stat_count = r.size("statCount", 0)?;
        let loss = match r.int("loss", -1, 3)? {
            -1 => None,
            0 => Some(Loss::BinaryCrossEntropy),
            1 => Some(Loss::CategoricalCrossEntropy),
            2 => Some(Loss::SparseCategoricalCrossEntropy),
            _ => Some(Loss::MeanSquaredError),
        };
        let metric_count = r.size("metricCount", 0)?;
        let layer_count = r.size("layerCount", 1)?;
        let mut metrics = Vec::with_capacity(metric_count.min(3));
        for _ in 0..metric_count {
            metrics.push(match r.int("metric", 0, 2)? {
                0 => Metric::Accuracy,
                1 => Metric::MeanAbsoluteError,
                _ => Metric::MeanSquaredError,
            });
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
        let kind = self.int("optimizer kind", -1, 3)?;
        let lr = self.f64("learningRate")?;
        let [a, b, c, d, _] = [0; 5].map(|_| self.f64("optimizer parameter"));
        let (a, b, c, d) = (a?, b?, c?, d?);
        let clip = Clip { norm: self.optional("clipNorm")?, value: self.optional("clipValue")? };
        if kind == -1 {
            return Ok(None);
        }
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("learningRate must be > 0, got {lr}"));
        }
        let unit = |what: &str, v: f64| if v.is_finite() && (0.0..1.0).contains(&v) { Ok(v) } else { Err(format!("{what} must be in [0, 1), got {v}")) };
        let nonneg = |what: &str, v: f64| if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{what} must be ≥ 0, got {v}")) };
        let flag = |what: &str, v: f64| if v == 0.0 || v == 1.0 { Ok(v == 1.0) } else { Err(format!("{what} must be 0 or 1, got {v}")) };
        Ok(Some(match kind {
            0 => Optimizer::Sgd { lr, momentum: unit("momentum", a)?, nesterov: flag("nesterov", b)?, clip },
            1 => {
                nonneg("initialAccumulatorValue", a)?;
                Optimizer::AdaGrad { lr, epsilon: nonneg("epsilon", b)?, clip }
            }
            2 => Optimizer::RmsProp { lr, rho: unit("rho", a)?, momentum: unit("momentum", b)?, epsilon: nonneg("epsilon", c)?, centered: flag("centered", d)?, clip },
            _ => Optimizer::Adam { lr, beta1: unit("beta1", a)?, beta2: unit("beta2", b)?, epsilon: nonneg("epsilon", c)?, weight_decay: nonneg("weightDecay", d)?, clip },
        }))
    }

    /// A layer record: [kind, inputs, units, activation, alpha, r0 … r5], where r0 … r5 are
    ///   dense: kernel offset, bias offset (−1: none), l1, l2, 0, 0
    ///   dropout: rate, 0 …
    ///   batch normalisation: γ, β, moving-mean and moving-variance offsets, momentum, ε
    ///   activation: 0 …
    fn layer(&mut self, width: usize, params: usize, stats: usize) -> Result<Layer, String> {
        let kind = self.int("kind", 0, 3)?;
        let inputs = self.size("inputs", 1)?;
        let units = self.size("units", 1)?;
        let code = self.int("activation", 0, 5)?;
        let alpha = self.finite("alpha", 0.0, f64::MAX)? as f32;
        let activation = match code {
            0 => Activation::Linear,
            1 => Activation::Sigmoid,
            2 => Activation::Tanh,
            3 => Activation::Relu,
            4 => Activation::LeakyRelu(alpha),
            _ => Activation::Softmax,
        };
        let mut r = [0.0; 6];
        for v in &mut r {
            *v = self.f64("layer parameter")?;
        }
        if inputs != width {
            return Err(format!("inputs {inputs} differ from the {width} values the layer receives"));
        }
        if kind != 0 && units != inputs {
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
            0 => Layer::Dense {
                inputs,
                units,
                activation,
                kernel: range("kernel", r[0], inputs * units, params)?,
                bias: if r[1] == -1.0 { None } else { Some(range("bias", r[1], units, params)?) },
                l1: nonneg("l1", r[2])?,
                l2: nonneg("l2", r[3])?,
            },
            1 if (0.0..1.0).contains(&r[0]) => Layer::Dropout { units, rate: r[0] },
            1 => return Err(format!("dropout rate must be in [0, 1), got {}", r[0])),
            2 => {
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
