//! Themes: the colours of the default look, a high-contrast one and none at all.
//!
//! The panels draw with the default palette; a theme then rewrites the finished frame, cell by
//! cell. One pass at the end keeps every panel free of theme code, and whatever a panel adds
//! later is themed too. Nothing on screen depends on colour alone (every state also has a word
//! or a glyph), so monochrome loses emphasis, never meaning.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

/// How the console looks: `--theme`, `theme =` in `console.toml`, or `NO_COLOR`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Theme {
    /// Colours on a dark terminal.
    #[default]
    Default,
    /// Bright colours only, no grey text, bold where the default is coloured.
    HighContrast,
    /// No colours at all (what `NO_COLOR` asks for): emphasis by bold, dim and reverse.
    Monochrome,
}

impl Theme {
    pub const NAMES: &'static str = "default, high-contrast, monochrome";

    pub fn name(self) -> &'static str {
        match self {
            Theme::Default => "default",
            Theme::HighContrast => "high-contrast",
            Theme::Monochrome => "monochrome",
        }
    }

    /// The theme in force: the flag, else the settings file, else monochrome when `NO_COLOR`
    /// is set (to anything but the empty string, as no-color.org asks), else the default.
    pub fn choose(flag: Option<Theme>, settings: Option<Theme>, no_color: bool) -> Theme {
        flag.or(settings).unwrap_or(if no_color {
            Theme::Monochrome
        } else {
            Theme::Default
        })
    }

    /// Is `NO_COLOR` set in this process's environment?
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }

    /// Rewrite a drawn frame in this theme.
    pub fn apply(self, buf: &mut Buffer) {
        match self {
            Theme::Default => {}
            Theme::HighContrast => {
                for cell in buf.content.iter_mut() {
                    let (fg, bold) = high_contrast(cell.fg);
                    cell.fg = fg;
                    if bold {
                        cell.modifier.insert(Modifier::BOLD);
                    }
                    cell.modifier.remove(Modifier::DIM);
                    // Backgrounds: black stays black; a coloured one (a banner) becomes
                    // reverse video, which every terminal shows at full contrast.
                    if !matches!(cell.bg, Color::Reset | Color::Black) {
                        cell.bg = Color::Reset;
                        cell.fg = Color::Reset;
                        cell.modifier.insert(Modifier::REVERSED);
                    }
                }
            }
            Theme::Monochrome => {
                for cell in buf.content.iter_mut() {
                    match cell.fg {
                        Color::DarkGray | Color::Gray => cell.modifier.insert(Modifier::DIM),
                        Color::Red | Color::LightRed | Color::Yellow | Color::LightYellow => {
                            cell.modifier.insert(Modifier::BOLD)
                        }
                        _ => {}
                    }
                    if !matches!(cell.bg, Color::Reset | Color::Black) {
                        cell.modifier.insert(Modifier::REVERSED);
                    }
                    cell.fg = Color::Reset;
                    cell.bg = Color::Reset;
                }
            }
        }
    }
}

/// The high-contrast colour for a default one, and whether to make it bold.
fn high_contrast(fg: Color) -> (Color, bool) {
    match fg {
        Color::Reset => (Color::Reset, false),
        Color::DarkGray | Color::Gray => (Color::White, false),
        Color::Red | Color::LightRed => (Color::LightRed, true),
        Color::Green | Color::LightGreen => (Color::LightGreen, true),
        Color::Yellow | Color::LightYellow => (Color::LightYellow, true),
        Color::Blue | Color::LightBlue => (Color::LightBlue, true),
        Color::Magenta | Color::LightMagenta => (Color::LightMagenta, true),
        Color::Cyan | Color::LightCyan => (Color::LightCyan, true),
        Color::Black => (Color::Black, false),
        other => (other, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    fn sample() -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 1));
        buf.set_string(0, 0, "ok", Style::default().fg(Color::Green));
        buf.set_string(3, 0, "dim", Style::default().fg(Color::DarkGray));
        buf.set_string(7, 0, "err", Style::default().fg(Color::Red));
        buf.set_string(11, 0, "b", Style::default().bg(Color::Magenta));
        buf
    }

    #[test]
    fn monochrome_leaves_no_colour_and_keeps_emphasis() {
        let mut buf = sample();
        Theme::Monochrome.apply(&mut buf);
        for cell in &buf.content {
            assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
        }
        assert!(buf[(3, 0)].modifier.contains(Modifier::DIM));
        assert!(buf[(7, 0)].modifier.contains(Modifier::BOLD));
        assert!(buf[(11, 0)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn high_contrast_has_no_grey_and_no_dark_colours() {
        let mut buf = sample();
        Theme::HighContrast.apply(&mut buf);
        assert_eq!(buf[(3, 0)].fg, Color::White);
        assert_eq!(buf[(0, 0)].fg, Color::LightGreen);
        assert!(buf[(7, 0)].modifier.contains(Modifier::BOLD));
        for cell in &buf.content {
            assert!(
                !matches!(cell.fg, Color::DarkGray | Color::Gray | Color::Red),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn the_flag_beats_the_file_which_beats_no_color() {
        use Theme::*;
        assert_eq!(Theme::choose(None, None, false), Default);
        assert_eq!(Theme::choose(None, None, true), Monochrome);
        assert_eq!(Theme::choose(None, Some(HighContrast), true), HighContrast);
        assert_eq!(
            Theme::choose(Some(Default), Some(Monochrome), true),
            Default
        );
    }
}
