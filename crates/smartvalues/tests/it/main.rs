//! The shared smart-value vectors (copied from `shared/vectors/smartvalues.json`), every case.

#![allow(clippy::unwrap_used)]

use smartvalues::{Limits, Template};

#[test]
fn every_shared_vector_renders_as_expected() {
    check_vectors(include_str!("data/smartvalues.json"));
}

/// ucm's own vectors (`data/ucm.json`): where Atlassian's documentation, or the Java it runs on,
/// is exact and the shared vectors are silent; each case names its source.
#[test]
fn every_project_vector_renders_as_expected() {
    check_vectors(include_str!("data/ucm.json"));
}

/// Renders every case of a vector file: `expected` is the text, `expectedError` a part of the
/// error message.
fn check_vectors(file: &str) {
    let data: serde_json::Value = serde_json::from_str(file).unwrap();
    let now: jiff::Timestamp = data["now"].as_str().unwrap().parse().unwrap();
    let mut failures = Vec::new();
    let cases = data["cases"].as_array().unwrap();
    for case in cases {
        let template = case["template"].as_str().unwrap();
        let actual = Template::parse(template)
            .map_err(|e| e.to_string())
            .and_then(|t| t.render(&data["context"], now, &Limits::default()).map_err(|e| e.to_string()))
            .map(|r| r.text);
        let passed = match (case["expected"].as_str(), case["expectedError"].as_str(), &actual) {
            (Some(expected), _, Ok(text)) => text == expected,
            (None, Some(part), Err(error)) => error.contains(part),
            _ => false,
        };
        if !passed {
            let expected = case.get("expected").or_else(|| case.get("expectedError")).unwrap();
            failures.push(format!("  {template}\n    expected {expected}\n    got      {actual:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} vectors failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

fn render(template: &str, context: serde_json::Value) -> Result<smartvalues::Rendered, String> {
    let now: jiff::Timestamp = "2020-08-18T02:40:37Z".parse().unwrap();
    Template::parse(template)
        .map_err(|e| e.to_string())?
        .render(&context, now, &Limits::default())
        .map_err(|e| e.to_string())
}

#[test]
fn sections_iterate_with_first_last_and_index() {
    let ctx = serde_json::json!({"users": [{"name": "Ada"}, {"name": "Alan"}, {"name": "Grace"}]});
    let out = render("{{#users}}{{name}}{{^last}}, {{/}}{{/}}", ctx.clone()).unwrap();
    assert_eq!(out.text, "Ada, Alan, Grace");
    let out = render("{{#users}}{{index}}={{name}}{{#if(first)}}*{{/}} {{/}}", ctx).unwrap();
    assert_eq!(out.text, "0=Ada* 1=Alan 2=Grace ");
    let out = render("{{#items}}{{.}}|{{/}}", serde_json::json!({"items": [1, 2.50, "x"]})).unwrap();
    assert_eq!(out.text, "1|2.5|x|");
}

#[test]
fn conditionals_inline_and_else() {
    let ctx = serde_json::json!({"trigger": "taskFailure", "n": 0});
    assert_eq!(render(r#"{{#if(equals(trigger, "taskFailure"), "FAILED")}}"#, ctx.clone()).unwrap().text, "FAILED");
    assert_eq!(render(r#"{{if(n, "some", "none")}}"#, ctx.clone()).unwrap().text, "some", "numbers are truthy");
    assert_eq!(render(r#"{{#if(and(exists(trigger), not(missing)))}}yes{{/}}"#, ctx).unwrap().text, "yes");
}

#[test]
fn missing_values_render_empty_and_are_reported() {
    let out = render("a{{x.y}}b{{x.y}}{{z}}", serde_json::json!({})).unwrap();
    assert_eq!(out.text, "ab");
    assert_eq!(out.missing, ["x.y", "z"]);
}

#[test]
fn unknown_functions_fail_with_the_closest_names() {
    let err = render(r#"{{name.toUppercase()}}"#, serde_json::json!({"name": "x"})).unwrap_err();
    assert!(err.contains("unknown function `toUppercase`") && err.contains("`toUpperCase`"), "{err}");
    let err = render(r#"{{equal("a", "b")}}"#, serde_json::json!({})).unwrap_err();
    assert!(err.contains("`equals`"), "{err}");
}

#[test]
fn math_dates_and_json() {
    let ctx = serde_json::json!({"price": "1.2", "qty": 5, "when": "2026-11-27T18:00:00-08:00"});
    assert_eq!(render("{{#=}}{{qty}} * {{price}}{{/}}", ctx.clone()).unwrap().text, "6");
    assert_eq!(render("{{qty.multiply(price)}}", ctx.clone()).unwrap().text, "6");
    assert_eq!(
        render(r#"{{when.toDate.convertToTimeZone("Europe/Berlin").format("EEE d MMM yyyy HH:mm z")}}"#, ctx.clone())
            .unwrap()
            .text,
        "Sat 28 Nov 2026 03:00 CET"
    );
    assert_eq!(render(r#"{{when.toDate.plusBusinessDays(1).jiraDate}}"#, ctx.clone()).unwrap().text, "2026-11-30");
    assert_eq!(render(r#"{{now.diff(when.toDate).years}}"#, ctx.clone()).unwrap().text, "6");
    assert_eq!(render(r#"{{"01/02/2026".toDate("dd/MM/yyyy").jiraDate}}"#, ctx).unwrap().text, "2026-02-01");
}

#[test]
fn work_is_bounded() {
    let ctx = serde_json::json!({"items": (0..1000).collect::<Vec<_>>()});
    let template = Template::parse("{{#items}}{{#items}}x{{/}}{{/}}").unwrap();
    let now: jiff::Timestamp = "2020-08-18T02:40:37Z".parse().unwrap();
    let err = template.render(&ctx, now, &Limits { max_output_bytes: 10_000, max_steps: 10_000_000 }).unwrap_err();
    assert!(err.to_string().contains("exceed 10000 bytes"), "{err}");
    let err = template.render(&ctx, now, &Limits { max_output_bytes: 1 << 30, max_steps: 50_000 }).unwrap_err();
    assert!(err.to_string().contains("more than 50000 steps"), "{err}");
}

/// Random templates built from the language's own pieces never panic: they parse or fail with
/// a syntax error, and render or fail with a render error.
#[test]
fn random_templates_never_panic() {
    const PIECES: &[&str] = &[
        "{{",
        "}}",
        "#",
        "^",
        "/",
        "=",
        ".",
        "(",
        ")",
        ",",
        "\"",
        "\\",
        " ",
        "\n",
        "a",
        "name",
        "items",
        "now",
        "if",
        "equals",
        "not",
        "first",
        "last",
        "size",
        "join",
        "toDate",
        "format",
        "\"yyyy\"",
        "plusDays",
        "1",
        "-2",
        "3.5",
        "+",
        "*",
        "^",
        "%",
        "&&",
        "||",
        "ROUND",
        "é",
        "日本",
        "substring",
        "match",
        "\"(.*\"",
        "leftPad",
        "99999999999",
        "{{#=}}",
        "{{/}}",
        "{{#items}}",
        "{{^last}}",
        "{{.}}",
        "jiraDateTime",
        "convertToTimeZone",
        "\"Mars/Base\"",
    ];
    let context = serde_json::json!({"name": "Ada", "items": [1, "two", {"name": "x"}], "a": {"b": null}});
    let now: jiff::Timestamp = "2020-08-18T02:40:37Z".parse().unwrap();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let limits = Limits { max_output_bytes: 1 << 16, max_steps: 100_000 };
    let mut parsed = 0;
    for _ in 0..5_000 {
        let len = 1 + next() % 24;
        let template: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
        if let Ok(t) = Template::parse(&template) {
            parsed += 1;
            let _ = t.render(&context, now, &limits);
        }
    }
    assert!(parsed > 500, "the generator produces parseable templates too ({parsed})");
    for deep in ["-".repeat(100_000) + "1", "2^".repeat(100_000) + "2", "(".repeat(100_000)] {
        let t = Template::parse(&format!("{{{{#=}}}}{deep}{{{{/}}}}")).unwrap();
        assert!(t.render(&context, now, &limits).is_err());
    }
    assert!(Template::parse(&"{{#items}}".repeat(1_000)).is_err());
    assert!(Template::parse(&format!("{{{{{}}}}}", "f(".repeat(10_000))).is_err());
}

fn at_epoch() -> jiff::Timestamp {
    "2020-08-18T02:40:37Z".parse().unwrap()
}

/// Arithmetic past what a decimal holds is a render error that names the method, never a panic
/// (a payload's numbers must not be able to take a worker down).
#[test]
fn arithmetic_that_overflows_is_an_error() {
    let ctx = serde_json::json!({"amount": 7.9e28, "fee": 7.9e28, "list": [7.9e28, 7.9e28], "min": i64::MIN});
    for (template, method) in [
        ("{{amount.plus(fee)}}", "plus"),
        ("{{amount.minus(fee).minus(fee).minus(fee)}}", "minus"),
        ("{{amount.multiply(fee)}}", "multiply"),
        ("{{amount.divide(0.0000001)}}", "divide"),
        ("{{list.sum}}", "sum"),
        ("{{list.average}}", "average"),
    ] {
        let err = render(template, ctx.clone()).unwrap_err();
        assert!(err.contains(&format!("`{method}`")) && err.contains("too large"), "{template}: {err}");
    }
    let err = render("{{amount.divide(0)}}", ctx.clone()).unwrap_err();
    assert!(err.contains("division by zero"), "{err}");
    let err = render("{{now.minusDays(min)}}", ctx.clone()).unwrap_err();
    assert!(err.contains("out of range"), "{err}");
    assert_eq!(render("{{amount.minus(fee)}}", ctx).unwrap().text, "0", "what fits still computes");
}

/// Every function and method, on every kind of receiver, with extreme numbers and long texts as
/// arguments: each renders or fails with a render error, never panics, and never writes past
/// the output limit.
#[test]
fn every_method_survives_extreme_numbers_and_long_texts() {
    let long = "x".repeat(20_000);
    let ctx = serde_json::json!({
        "big": 7.9e28, "neg": -7.9e28, "tiny": 1e-28, "min": i64::MIN, "max": i64::MAX, "zero": 0,
        "long": long, "list": [7.9e28, 7.9e28, -7.9e28], "many": vec!["ab"; 5_000],
        "date": "2026-01-01T00:00:00Z", "obj": {"a": 1}, "nul": "a\u{0}b",
    });
    let receivers = ["big", "neg", "tiny", "min", "long", "list", "many", "date.toDate", "obj", "missing", "nul"];
    let argument_sets = [
        "",
        "()",
        "(big)",
        "(neg)",
        "(tiny)",
        "(min)",
        "(max)",
        "(zero)",
        "(long)",
        "(long, long)",
        "(\"x\", long)",
        "(big, long)",
        "(max, long)",
        "(\"yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\")",
    ];
    let limits = Limits { max_output_bytes: 1 << 16, max_steps: 100_000 };
    let mut failures = Vec::new();
    for name in smartvalues::function_names() {
        for receiver in receivers {
            for args in argument_sets {
                let template = format!("{{{{{receiver}.{name}{args}}}}}");
                let Ok(parsed) = Template::parse(&template) else { continue };
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parsed.render(&ctx, at_epoch(), &limits)));
                match outcome {
                    Err(_) => failures.push(format!("{template}: panicked")),
                    Ok(Ok(rendered)) if rendered.text.len() > limits.max_output_bytes => {
                        failures.push(format!("{template}: {} bytes of output", rendered.text.len()))
                    }
                    Ok(_) => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// No value a template builds on the way may outgrow the output limit: a replacement that
/// multiplies a payload fails at the limit instead of filling memory, and going over large
/// texts counts as work.
#[test]
fn intermediate_values_stay_within_the_output_limit() {
    let ctx = serde_json::json!({"s": "a".repeat(300_000), "r": "b".repeat(1_000), "short": "abc"});
    let limits = Limits::default();
    for template in [
        "{{s.replace(\"a\", r)}}",
        "{{s.replaceAll(\"(a)\", r)}}",
        "{{s.replaceAll(\"(a)\", \"$1$1$1$1$1$1$1$1\")}}",
        "{{s.concat(s).concat(s).concat(s)}}",
        // Short enough at the end, but not on the way.
        "{{s.replace(\"a\", r).left(3)}}",
    ] {
        let error = Template::parse(template).unwrap().render(&ctx, at_epoch(), &limits).unwrap_err().to_string();
        assert!(error.contains("output limit"), "{template}: {error}");
    }
    // Large texts gone over again and again run out of steps, not of time.
    let chain = format!("{{{{s{}}}}}", ".trim".repeat(400));
    let error = Template::parse(&chain).unwrap().render(&ctx, at_epoch(), &limits).unwrap_err().to_string();
    assert!(error.contains("steps"), "{error}");
    // Within the limits the same methods work as before.
    let fine = Template::parse(
        "{{short.replace(\"b\", \"XY\")}} {{short.replaceAll(\"(b)\", \"[$1]\")}} {{short.concat(short)}}",
    )
    .unwrap()
    .render(&ctx, at_epoch(), &limits)
    .unwrap();
    assert_eq!(fine.text, "aXYc a[b]c abcabc");
}

/// `distinct` keeps the first of each value in order; equal numbers are one value.
#[test]
fn distinct_keeps_the_first_of_each() {
    let ctx = serde_json::json!({"items": [3, "3", 1.0, 1, "a", {"k": 1}, {"k": 1}, "a", [1], [1]], "many": (0..60_000).map(|i| i % 7).collect::<Vec<_>>()});
    let rendered = Template::parse("{{items.distinct.asJsonString}} {{many.distinct.size}}")
        .unwrap()
        .render(&ctx, at_epoch(), &Limits::default())
        .unwrap();
    assert_eq!(rendered.text, "[3,\"3\",1,\"a\",{\"k\":1},[1]] 7");
}
