//! Plain-text tables: `key  value` lines and column grids, aligned by display width (a Chinese
//! character takes two columns).

/// Rows of `key  value`; absent values are shown as `-`.
pub fn pairs(rows: &[(&str, Option<String>)]) -> String {
    let width = rows.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in rows {
        out.push_str(key);
        pad(&mut out, width - self::width(key) + 2);
        out.push_str(value.as_deref().unwrap_or("-"));
        out.push('\n');
    }
    out
}

/// A grid with a header row; `empty` is shown instead when there are no rows.
pub fn grid(headers: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(width(cell));
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                pad(
                    &mut line,
                    widths.get(i).copied().unwrap_or(0) - width(cell) + 2,
                );
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Columns `s` takes in a terminal: East Asian wide characters two, control characters none.
pub fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0..=0x1f | 0x7f..=0x9f => 0,
            0x1100..=0x115f
            | 0x2e80..=0xa4cf
            | 0xac00..=0xd7a3
            | 0xf900..=0xfaff
            | 0xfe30..=0xfe4f
            | 0xff00..=0xff60
            | 0xffe0..=0xffe6
            | 0x1f300..=0x1faff
            | 0x20000..=0x3fffd => 2,
            _ => 1,
        })
        .sum()
}

/// Epoch seconds as `yyyy-MM-dd HH:mm:ss UTC`.
pub fn epoch(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    // days since 1970-01-01 to a civil date (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_by_display_width() {
        let g = grid(
            &["NO", "NAME", "FEN"],
            &[
                vec!["S1".into(), "门店".into(), "6000".into()],
                vec!["F1".into(), "staff".into(), "1500".into()],
            ],
            "none",
        );
        assert_eq!(g, "NO  NAME   FEN\nS1  门店   6000\nF1  staff  1500\n");
        assert_eq!(grid(&["A"], &[], "no rows"), "no rows\n");
        assert_eq!(
            pairs(&[("a", Some("1".into())), ("bbb", None)]),
            "a    1\nbbb  -\n"
        );
    }

    #[test]
    fn epochs_are_dates() {
        assert_eq!(epoch(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(epoch(1_717_264_189), "2024-06-01 17:49:49 UTC");
        assert_eq!(epoch(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
