//! Metric values as exported: families of labelled series, what `/metrics` encodes and
//! `metrics show` prints.

use std::borrow::Cow;

/// Counter or gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (until `metrics reset`).
    Counter,
    /// Goes up and down.
    Gauge,
}

impl Kind {
    /// `counter` or `gauge`, as `metrics show` and the Prometheus `TYPE` line write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
        }
    }
}

/// A sample's value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A count.
    Int(u64),
    /// A measurement (seconds, ratios).
    Float(f64),
}

impl std::ops::Add for Value {
    type Output = Value;

    /// The sum (an integer while both are).
    fn add(self, other: Value) -> Value {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => Value::Int(a.saturating_add(b)),
            (a, b) => Value::Float(a.as_f64() + b.as_f64()),
        }
    }
}

impl Value {
    /// The value as a float.
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        match self {
            Value::Int(n) => n as f64,
            Value::Float(x) => x,
        }
    }
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x}"),
        }
    }
}

/// Label names and values of one series, in order.
pub type Labels = Vec<(&'static str, Cow<'static, str>)>;

/// One series: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels (the node label is added by the exposition).
    pub labels: Labels,
    /// The value now.
    pub value: Value,
}

/// A metric name with its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name, without namespace.
    pub name: &'static str,
    /// One line saying what it counts.
    pub help: &'static str,
    /// Counter or gauge.
    pub kind: Kind,
    /// Its series.
    pub series: Vec<Series>,
}

/// Families built in exposition order, series of one name gathered under its first family.
#[derive(Debug, Default)]
pub struct Families(Vec<Family>);

impl Families {
    /// Adds one series to the family `name` (created on first use).
    pub fn push(
        &mut self,
        (name, help, kind): (&'static str, &'static str, Kind),
        labels: Labels,
        value: Value,
    ) {
        let series = Series { labels, value };
        match self.0.iter_mut().find(|family| family.name == name) {
            Some(family) => family.series.push(series),
            None => self.0.push(Family {
                name,
                help,
                kind,
                series: vec![series],
            }),
        }
    }

    /// Adds a series without labels.
    pub fn single(&mut self, name: &'static str, help: &'static str, kind: Kind, value: Value) {
        self.push((name, help, kind), Vec::new(), value);
    }

    /// Appends other families.
    pub fn extend(&mut self, other: Families) {
        for family in other.0 {
            for series in family.series {
                self.push(
                    (family.name, family.help, family.kind),
                    series.labels,
                    series.value,
                );
            }
        }
    }

    /// The families, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Family> {
        self.0.iter()
    }

    /// The families.
    pub fn into_vec(self) -> Vec<Family> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_of_one_name_share_a_family() {
        let mut families = Families::default();
        let spec = ("a", "A.", Kind::Counter);
        families.push(spec, vec![("v", "4".into())], Value::Int(1));
        families.single("b", "B.", Kind::Gauge, Value::Float(0.5));
        families.push(spec, vec![("v", "5".into())], Value::Int(2));
        let families = families.into_vec();
        assert_eq!(families.len(), 2);
        assert_eq!(families[0].series.len(), 2);
        assert_eq!(Value::Int(1) + Value::Int(2), Value::Int(3));
        assert_eq!(Value::Int(1) + Value::Float(0.5), Value::Float(1.5));
    }
}
