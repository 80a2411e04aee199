//! A WeChat Pay profit-sharing bill of any size, written as the bytes are read (so a
//! 100,000-row bill never sits in memory and a memory figure measures the reader, not the
//! input), with the matching side of ours.

use sha1::{Digest, Sha1};
use shared::domain::money::fen_to_yuan;
use shared::reconcile::{OurRow, OurStatus, wechat_columns as col};
use std::io::Read;

/// Row `i`: a split of order `i / 2` to receiver `i % 2`, every tenth row a return instead.
fn row(i: u64) -> (bool, String, String, i64) {
    let receiver = format!("19000{:05}", i % 2);
    let fen = 1 + i64::try_from(i % 9_973).unwrap_or(0);
    if i % 10 == 9 {
        (true, format!("R{i:015}"), receiver, fen)
    } else {
        (false, format!("A{:015}", i / 2), receiver, fen)
    }
}

/// The bill's bytes for `rows` rows, produced a line at a time.
pub struct Bill {
    rows: u64,
    next: u64,
    line: Vec<u8>,
    at: usize,
    split_fen: i64,
    return_fen: i64,
    done: bool,
}

impl Bill {
    pub fn new(rows: u64) -> Self {
        let header = [
            col::TIME,
            "分账发起方",
            col::PAYER,
            col::TRANSACTION_ID,
            col::CHANNEL_NO,
            "分账明细单号",
            col::NUMBER,
            "订单金额",
            col::RECEIVER,
            col::AMOUNT,
            col::KIND,
            col::STATUS,
            "备注",
        ];
        Self {
            rows,
            next: 0,
            line: (header.join(",") + "\r\n").into_bytes(),
            at: 0,
            split_fen: 0,
            return_fen: 0,
            done: false,
        }
    }

    /// The SHA-1 the channel would give for this bill (one pass over it).
    pub fn sha1_hex(rows: u64) -> String {
        let mut sha = Sha1::new();
        let mut bill = Self::new(rows);
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = bill.read(&mut buf) {
            match buf.get(..n) {
                Some(read) if n > 0 => sha.update(read),
                _ => break,
            }
        }
        hex::encode(sha.finalize())
    }

    fn refill(&mut self) {
        self.line.clear();
        self.at = 0;
        if self.next < self.rows {
            let i = self.next;
            self.next += 1;
            let (back, number, receiver, fen) = row(i);
            let kind = if back { "回退" } else { "分账" };
            if back {
                self.return_fen += fen;
            } else {
                self.split_fen += fen;
            }
            let text = format!(
                "`2025-06-01 10:{:02}:{:02},`1900000100,`1900000109,`42000{i:023},`30084{i:023},\
                 `36011{i:018},`{number},`100.00,`{receiver},`{},`{kind},`成功,`分给商户\r\n",
                (i / 60) % 60,
                i % 60,
                fen_to_yuan(fen)
            );
            self.line.extend_from_slice(text.as_bytes());
        } else if !self.done {
            self.done = true;
            let text = format!(
                "{},{},{}\r\n`{},`{},`{}\r\n",
                col::SUMMARY_COUNT,
                col::SUMMARY_SPLIT_FEN,
                col::SUMMARY_RETURN_FEN,
                self.rows,
                fen_to_yuan(self.split_fen),
                fen_to_yuan(self.return_fen)
            );
            self.line.extend_from_slice(text.as_bytes());
        }
    }
}

impl Read for Bill {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.line.len() {
            self.refill();
        }
        let rest = self.line.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.at += n;
        Ok(n)
    }
}

/// Our side of that bill: every row, a success.
pub fn ours(rows: u64) -> Vec<OurRow> {
    (0..rows)
        .map(|i| {
            let (back, number, receiver, fen) = row(i);
            OurRow {
                allocation_no: if back {
                    format!("A{:015}", i / 2)
                } else {
                    number.clone()
                },
                return_no: back.then_some(number),
                receiver,
                amount_fen: fen,
                status: OurStatus::Success,
            }
        })
        .collect()
}
