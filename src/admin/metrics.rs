//! `metrics show` (the registry as `counter.<name> = <value>` lines, summed per name unless
//! `--aggregate=false`, filtered by label) and `metrics reset`.

use vmq_actors::metrics::{Families, Family, Series, Value};

use super::args::{ArgSpec, Args, FlagSpec, FlagValue};
use super::cmdline::CommandLine;
use super::error::AdminError;
use super::reply::Reply;
use crate::node::Node;

/// `vmq-admin metrics`.
pub const GROUP_USAGE: &str = "Usage: vmq-admin metrics <sub-command>

  Interact with the metrics subsystem.

  Sub-commands:
    show        Prints the metrics
    reset       Resets the counters
  Use --help after a sub-command for more details.
";

/// `vmq-admin metrics show`.
pub const SHOW_USAGE: &str =
    "Usage: vmq-admin metrics show [-d] [--aggregate=true|false] [--<label>=<value> ...]

  Prints one line per metric: <type>.<name> = <value>. The same metrics are on /metrics
  (with the vernemq_ prefix) for Prometheus.

  -d, --with-descriptions   print each metric's description above it
  -a, --aggregate=<bool>    sum the series of a name and drop their labels (default true)
  --mqtt_version=<4|5>, --reason_code=<name>, --return_code=<name>, --command=<cmd>,
  --status=<code>           only series with these label values (all given must match)
";

/// `vmq-admin metrics reset`.
pub const RESET_USAGE: &str = "Usage: vmq-admin metrics reset

  Resets every counter to zero. Gauges (connections, subscriptions, retained messages) and
  process figures are measured, not counted, and stay.
";

/// The labels a series can be filtered by.
const LABELS: [&str; 5] = [
    "mqtt_version",
    "reason_code",
    "return_code",
    "command",
    "status",
];

const fn label_flag(name: &'static str) -> FlagSpec {
    FlagSpec {
        name,
        short: None,
        value: FlagValue::Required,
    }
}

const SHOW_SPEC: ArgSpec = ArgSpec {
    params: &[],
    flags: &[
        FlagSpec {
            name: "with-descriptions",
            short: Some('d'),
            value: FlagValue::None,
        },
        FlagSpec {
            name: "aggregate",
            short: Some('a'),
            value: FlagValue::Optional,
        },
        label_flag(LABELS[0]),
        label_flag(LABELS[1]),
        label_flag(LABELS[2]),
        label_flag(LABELS[3]),
        label_flag(LABELS[4]),
    ],
};

/// `metrics show`.
#[derive(Debug)]
pub struct Show {
    descriptions: bool,
    aggregate: bool,
    filters: Vec<(&'static str, String)>,
}

impl Show {
    /// Reads the flags; `--aggregate` with any value but `true` turns aggregation off.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        let args = Args::check(line, &SHOW_SPEC, SHOW_USAGE)?;
        let aggregate = match args.flag_value("aggregate") {
            None => true,
            Some(value) => value == "true",
        };
        let filters = LABELS
            .iter()
            .filter_map(|label| Some((*label, args.flag_value(label)?.to_owned())))
            .collect();
        Ok(Self {
            descriptions: args.has_flag("with-descriptions"),
            aggregate,
            filters,
        })
    }

    /// The metrics now, as text.
    pub fn execute(self, node: &Node) -> Reply {
        Reply::text(self.render(&node.metrics.families()))
    }

    fn render(&self, families: &Families) -> String {
        let mut out = String::new();
        for family in families.iter() {
            let series: Vec<&Series> = family.series.iter().filter(|s| self.selects(s)).collect();
            if series.is_empty() {
                continue;
            }
            if self.descriptions {
                out.push_str(&format!("# {}\n", family.help));
            }
            if self.aggregate {
                let sum = series.iter().fold(Value::Int(0), |sum, s| sum + s.value);
                out.push_str(&line(family, "", sum));
            } else {
                for s in series {
                    out.push_str(&line(family, &label_text(s), s.value));
                }
            }
            if self.descriptions {
                out.push('\n');
            }
        }
        out
    }

    /// Whether `series` has every label value asked for.
    fn selects(&self, series: &Series) -> bool {
        self.filters.iter().all(|(name, wanted)| {
            series
                .labels
                .iter()
                .any(|(label, value)| label == name && value == wanted)
        })
    }
}

/// `counter.mqtt_connack_sent{mqtt_version="4"} = 3`.
fn line(family: &Family, labels: &str, value: Value) -> String {
    format!(
        "{}.{}{labels} = {value}\n",
        family.kind.as_str(),
        family.name
    )
}

fn label_text(series: &Series) -> String {
    if series.labels.is_empty() {
        return String::new();
    }
    let pairs: Vec<String> = series
        .labels
        .iter()
        .map(|(name, value)| format!("{name}=\"{value}\""))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// `metrics reset`.
#[derive(Debug)]
pub struct Reset;

impl Reset {
    /// Takes no arguments.
    pub fn parse(line: &CommandLine) -> Result<Self, AdminError> {
        Args::check(line, &ArgSpec::NONE, RESET_USAGE).map(|_| Self)
    }

    /// Zeroes the counters.
    pub fn execute(self, node: &Node) -> Reply {
        node.metrics.reset();
        Reply::done()
    }
}

#[cfg(test)]
mod tests {
    use vmq_actors::metrics::Kind;

    use super::*;

    fn families() -> Families {
        let mut families = Families::default();
        let connack = ("mqtt_connack_sent", "CONNACKs.", Kind::Counter);
        let v4 =
            |code: &'static str| vec![("mqtt_version", "4".into()), ("return_code", code.into())];
        families.push(connack, v4("success"), Value::Int(3));
        families.push(connack, v4("not_authorized"), Value::Int(1));
        families.single("socket_open", "Opens.", Kind::Counter, Value::Int(4));
        families.single("retain_messages", "Retained.", Kind::Gauge, Value::Int(2));
        families
    }

    fn show(argv: &[&str]) -> String {
        let mut words = vec!["metrics", "show"];
        words.extend_from_slice(argv);
        let show = Show::parse(&CommandLine::from_argv(&words)).expect("valid flags");
        show.render(&families())
    }

    #[test]
    fn aggregated_lines_sum_each_name() {
        assert_eq!(
            show(&[]),
            "counter.mqtt_connack_sent = 4\ncounter.socket_open = 4\ngauge.retain_messages = 2\n"
        );
    }

    #[test]
    fn label_filters_and_series() {
        assert_eq!(
            show(&["--return_code=success"]),
            "counter.mqtt_connack_sent = 3\n"
        );
        assert_eq!(
            show(&["--aggregate=false", "--mqtt_version=4"]),
            "counter.mqtt_connack_sent{mqtt_version=\"4\",return_code=\"success\"} = 3\n\
             counter.mqtt_connack_sent{mqtt_version=\"4\",return_code=\"not_authorized\"} = 1\n"
        );
    }

    #[test]
    fn descriptions_come_before_each_metric() {
        let text = show(&["-d", "--mqtt_version=4"]);
        assert_eq!(text, "# CONNACKs.\ncounter.mqtt_connack_sent = 4\n\n");
    }

    #[test]
    fn bad_flags_are_refused() {
        for argv in [&["--bogus"][..], &["--mqtt_version"], &["extra=1"]] {
            let mut words = vec!["metrics", "show"];
            words.extend_from_slice(argv);
            assert!(
                Show::parse(&CommandLine::from_argv(&words)).is_err(),
                "{argv:?}"
            );
        }
    }
}
