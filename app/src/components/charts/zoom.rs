//! Pointing at a chart: which bars the tooltip describes, and the drag (or click) that zooms the
//! page's time range to them. Browser only; the server renders the chart still.

use leptos::html::Div;
use leptos::prelude::*;

use super::axis::{bucket_at, selection};

/// Where the pointer is over a chart's bars, and where a drag across them began.
#[derive(Clone, Copy, Debug)]
pub struct ChartPointer {
    buckets: usize,
    hovered: RwSignal<Option<usize>>,
    /// The bar a press landed on, while the button is held.
    anchor: RwSignal<Option<usize>>,
}

impl ChartPointer {
    pub fn new(buckets: usize) -> Self {
        ChartPointer {
            buckets,
            hovered: RwSignal::new(None),
            anchor: RwSignal::new(None),
        }
    }

    /// The pointer moved to `fraction` of the way across the bars.
    pub fn hover(self, fraction: Option<f64>) {
        let at = fraction.and_then(|f| bucket_at(f, self.buckets));
        if at.is_some() || self.anchor.get_untracked().is_none() {
            self.hovered.set(at);
        }
    }

    /// A press: the bar under it is one end of the selection.
    pub fn press(self, fraction: Option<f64>) {
        let at = fraction.and_then(|f| bucket_at(f, self.buckets));
        self.anchor.set(at);
        self.hovered.set(at);
    }

    /// The release: the bars from the press to here (one bar for a click), to zoom to.
    pub fn release(self, fraction: Option<f64>) -> Option<(usize, usize)> {
        let anchor = self.anchor.get_untracked()?;
        self.anchor.set(None);
        let end = (fraction.and_then(|f| bucket_at(f, self.buckets)))
            .or_else(|| self.hovered.get_untracked())?;
        Some(selection(anchor, end))
    }

    /// The pointer left the chart: the tooltip goes, unless a drag holds on.
    pub fn leave(self) {
        if self.anchor.get_untracked().is_none() {
            self.hovered.set(None);
        }
    }

    /// The browser took the pointer (a scroll, a lost capture): no zoom.
    pub fn cancel(self) {
        self.anchor.set(None);
        self.hovered.set(None);
    }

    /// The bars the tooltip describes: a drag's selection, or the one under the pointer.
    pub fn span(self) -> Option<(usize, usize)> {
        let hovered = self.hovered.get();
        match self.anchor.get() {
            Some(anchor) => Some(selection(anchor, hovered.unwrap_or(anchor))),
            None => hovered.map(|at| (at, at)),
        }
    }

    /// The selection while a drag is under way.
    pub fn dragging(self) -> Option<(usize, usize)> {
        self.anchor.get().and_then(|_| self.span())
    }
}

/// How far across `plot` the pointer is (0 at its left edge, 1 at its right).
pub fn pointer_fraction(plot: NodeRef<Div>, event: &leptos::ev::PointerEvent) -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        let rect = plot.get_untracked()?.get_bounding_client_rect();
        (rect.width() > 0.0).then(|| (f64::from(event.client_x()) - rect.left()) / rect.width())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (plot, event);
        None
    }
}

/// Starts a drag on the main button: the plot keeps the pointer until release, even past its
/// edges, and the page does not select text meanwhile. False for other buttons.
pub fn begin_drag(plot: NodeRef<Div>, event: &leptos::ev::PointerEvent) -> bool {
    #[cfg(feature = "hydrate")]
    {
        if event.button() != 0 {
            return false;
        }
        event.prevent_default();
        if let Some(plot) = plot.get_untracked() {
            let _ = plot.set_pointer_capture(event.pointer_id());
        }
        true
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (plot, event);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drag_selects_from_press_to_release_and_a_click_one_bar() {
        let owner = Owner::new();
        owner.set();
        let pointer = ChartPointer::new(10);
        pointer.hover(Some(0.55));
        assert_eq!(pointer.span(), Some((5, 5)));
        assert_eq!(pointer.dragging(), None);

        pointer.press(Some(0.75));
        pointer.hover(Some(0.31));
        assert_eq!(pointer.dragging(), Some((3, 7)));
        // Dragged out past the left edge (the plot holds the pointer): to the first bar.
        pointer.hover(Some(-0.4));
        pointer.leave();
        assert_eq!(pointer.span(), Some((0, 7)));
        assert_eq!(pointer.release(Some(-0.4)), Some((0, 7)));
        assert_eq!(pointer.dragging(), None);

        pointer.press(Some(0.25));
        assert_eq!(pointer.release(Some(0.29)), Some((2, 2)));
        assert_eq!(pointer.release(Some(0.29)), None, "no press, no zoom");

        pointer.press(Some(0.25));
        pointer.cancel();
        assert_eq!(pointer.release(Some(0.9)), None);
        assert_eq!(pointer.span(), None);
    }
}
