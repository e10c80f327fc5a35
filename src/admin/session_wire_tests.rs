//! Round trips of the `session show` frames, and malformed frames refused without a panic.

use super::*;
use crate::admin::reply::Cell;

fn flag(name: &str, value: Option<&str>) -> Flag {
    Flag {
        name: name.to_owned(),
        value: value.map(str::to_owned),
        short: false,
    }
}

#[test]
fn requests_round_trip() {
    let request = ShowRequest {
        flags: vec![flag("client_id", None), flag("topic", Some("~a/é/#"))],
        rows: 1_000,
    };
    let frame = request.encode();
    assert_eq!(ShowRequest::decode(&frame), Ok(request));
}

fn sample() -> Vec<u8> {
    let mut writer = ReplyWriter::new(4);
    let row: Vec<Cell> = vec![
        Cell::Str("c1".into()),
        Cell::Int(-5),
        Cell::Bool(true),
        Cell::Null,
    ];
    writer.push("", "c1", &row);
    let row: Vec<Cell> = vec![
        Cell::Str("mp".into()),
        Cell::Int(i64::MAX),
        Cell::Bool(false),
        Cell::Int(i64::MIN),
    ];
    writer.push("mp", "c2", &row);
    writer.finish()
}

#[test]
fn replies_round_trip() {
    let page = ReplyPage::decode(sample(), 4).expect("a valid frame");
    assert_eq!(page.len(), 2);
    assert_eq!(page.key(0), ("", "c1"));
    assert_eq!(page.key(1), ("mp", "c2"));
    let mut cells = Vec::new();
    page.cells(0, &mut cells);
    assert_eq!(
        cells,
        vec![
            Value::text("c1"),
            Value::Int(-5),
            Value::Bool(true),
            Value::Null
        ]
    );
    page.cells(1, &mut cells);
    assert_eq!(
        cells,
        vec![
            Value::text("mp"),
            Value::Int(i64::MAX),
            Value::Bool(false),
            Value::Int(i64::MIN)
        ]
    );
    assert_eq!(
        ReplyPage::decode(ReplyWriter::new(2).finish(), 2).map(|p| p.len()),
        Ok(0)
    );
}

#[test]
fn malformed_frames_are_refused() {
    let good = sample();
    assert!(ReplyPage::decode(good.clone(), 3).is_err(), "wrong width");
    for cut in 0..good.len() {
        assert!(
            ReplyPage::decode(good[..cut].to_vec(), 4).is_err(),
            "cut at {cut}"
        );
    }
    let mut version = good.clone();
    version[0] = 9;
    assert!(ReplyPage::decode(version, 4).is_err());
    let mut tag = good.clone();
    tag[1 + 1 + 1 + 1 + 2] = 77; // the first cell's tag (the client id's)
    assert!(ReplyPage::decode(tag, 4).is_err());
    let mut lying = good.clone();
    let at = lying.len() - 4;
    lying[at..].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(ReplyPage::decode(lying, 4).is_err());
    let mut utf8 = good;
    utf8[5] = 0xff; // inside the first client id
    assert!(ReplyPage::decode(utf8, 4).is_err());

    let request = ShowRequest {
        flags: vec![flag("client_id", Some("x"))],
        rows: 3,
    }
    .encode();
    for cut in 0..request.len() {
        assert!(
            ShowRequest::decode(&request[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut trailing = request.clone();
    trailing.push(0);
    assert!(ShowRequest::decode(&trailing).is_err());
    assert!(ShowRequest::decode(&[VERSION, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
    assert!(ShowRequest::decode(&[
        VERSION, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
    ])
    .is_err());
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for len in 0..400 {
        let frame: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % 7) as u8
            })
            .collect();
        let _ = ShowRequest::decode(&frame);
        if let Ok(page) = ReplyPage::decode(frame, 2) {
            let mut cells = Vec::new();
            for at in 0..page.len() {
                let _ = page.key(at);
                page.cells(at, &mut cells);
            }
        }
    }
}
