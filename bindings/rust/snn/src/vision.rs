//! Vision: stateless filter banks, image filtering, ZCA whitening and
//! latency coding (docs/vision.md). No context or network is needed.

use std::ffi::CString;
use std::mem::size_of;
use std::ptr;

use snn_sys as sys;

use crate::error::{check, Error, ErrorKind, Result};
use crate::util::{c_string, to_i32, to_i64};

/// A named filter and its parameters ([`filter_kernels`]); what is left out
/// takes libsnn's default ("dog", size 7, sigmas 1 and 2, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FilterOptions {
    filter: Option<String>,
    size: Option<usize>,
    sigmas: Option<(f64, f64)>,
    sigma: Option<f64>,
    gabor: Option<(f64, f64, f64)>,
    orientations: Option<usize>,
    thetas: Option<Vec<f64>>,
    zero_mean: Option<bool>,
}

impl FilterOptions {
    /// A filter: "dog" (difference of Gaussians), "log" (negative Laplacian
    /// of Gaussian) or "gabor".
    pub fn new(filter: &str) -> FilterOptions {
        FilterOptions { filter: Some(filter.to_owned()), ..FilterOptions::default() }
    }

    /// The kernel's side (odd).
    pub fn size(mut self, pixels: usize) -> FilterOptions {
        self.size = Some(pixels);
        self
    }

    /// dog: the centre's and the surround's standard deviations.
    pub fn sigmas(mut self, centre: f64, surround: f64) -> FilterOptions {
        self.sigmas = Some((centre, surround));
        self
    }

    /// log, gabor: the Gaussian's standard deviation.
    pub fn sigma(mut self, sigma: f64) -> FilterOptions {
        self.sigma = Some(sigma);
        self
    }

    /// gabor: wavelength, spatial aspect ratio and phase offset.
    pub fn gabor(mut self, wavelength: f64, gamma: f64, psi: f64) -> FilterOptions {
        self.gabor = Some((wavelength, gamma, psi));
        self
    }

    /// gabor: this many kernels at `k * pi / count`.
    pub fn orientations(mut self, count: usize) -> FilterOptions {
        self.orientations = Some(count);
        self.thetas = None;
        self
    }

    /// gabor: one kernel per angle (radians).
    pub fn thetas(mut self, angles: &[f64]) -> FilterOptions {
        self.orientations = Some(angles.len());
        self.thetas = Some(angles.to_vec());
        self
    }

    /// Each kernel minus its mean (default true).
    pub fn zero_mean(mut self, on: bool) -> FilterOptions {
        self.zero_mean = Some(on);
        self
    }
}

/// A bank of square kernels, `[filters][size][size]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterBank {
    /// The kernels' values.
    pub kernels: Vec<f32>,
    /// The number of kernels.
    pub filters: usize,
    /// Their side.
    pub size: usize,
}

/// The kernels of a named filter.
pub fn filter_kernels(options: &FilterOptions) -> Result<FilterBank> {
    let mut c: sys::snn_filter_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::snn_filter_options_init(&mut c, size_of::<sys::snn_filter_options>() as u32) })?;
    let name: Option<CString> = options.filter.as_deref().map(|f| c_string(f, "filter")).transpose()?;
    if let Some(n) = &name {
        c.filter = n.as_ptr();
    }
    if let Some(size) = options.size {
        c.size = to_i32(size, "size")?;
    }
    if let Some((s1, s2)) = options.sigmas {
        c.sigma1 = s1;
        c.sigma2 = s2;
    }
    if let Some(s) = options.sigma {
        c.sigma = s;
    }
    if let Some((wavelength, gamma, psi)) = options.gabor {
        c.wavelength = wavelength;
        c.gamma = gamma;
        c.psi = psi;
    }
    if let Some(n) = options.orientations {
        c.orientations = to_i32(n, "orientations")?;
    }
    if let Some(t) = &options.thetas {
        c.thetas = t.as_ptr();
    }
    if let Some(z) = options.zero_mean {
        c.zero_mean = i32::from(z);
    }
    let (mut count, mut filters) = (0i64, 0i32);
    check(unsafe { sys::snn_filter_kernels(&c, ptr::null_mut(), 0, &mut count, &mut filters) })?;
    let mut kernels = vec![0.0f32; count.max(0) as usize];
    check(unsafe { sys::snn_filter_kernels(&c, kernels.as_mut_ptr(), count, &mut count, &mut filters) })?;
    Ok(FilterBank { kernels, filters: filters.max(0) as usize, size: c.size.max(0) as usize })
}

/// Padding of [`image_filter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Only positions where the kernel lies inside the image.
    Valid,
    /// Zeros around the image; the output has the input's size (odd kernels).
    Same,
}

/// The shapes of [`image_filter`]: images `[batch][channels][height][width]`
/// and kernels `[filters][channels][kernel_height][kernel_width]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageFilter {
    /// The images as `[batch, channels, height, width]`.
    pub images: [usize; 4],
    /// The kernels as `[filters, kernel_height, kernel_width]` (channels as the images).
    pub kernels: [usize; 3],
    /// Valid (default) or same.
    pub padding: Padding,
    /// Each response r becomes two channels, max(r, 0) then max(-r, 0).
    pub on_off: bool,
}

impl ImageFilter {
    /// Valid padding, no on/off split.
    pub fn new(images: [usize; 4], kernels: [usize; 3]) -> ImageFilter {
        ImageFilter { images, kernels, padding: Padding::Valid, on_off: false }
    }

    /// The padding.
    pub fn padding(mut self, padding: Padding) -> ImageFilter {
        self.padding = padding;
        self
    }

    /// The on/off split.
    pub fn on_off(mut self, on: bool) -> ImageFilter {
        self.on_off = on;
        self
    }
}

fn expect_len(given: usize, dims: &[usize], what: &str) -> Result<()> {
    // Sizes of 0 are left for libsnn to name.
    if dims.contains(&0) {
        return Ok(());
    }
    let needed: usize = dims.iter().product();
    if given != needed {
        return Err(Error::new(ErrorKind::Shape, format!("{what}: {given} values given; the geometry needs {needed}")));
    }
    Ok(())
}

/// Filters images with a bank of kernels (PyTorch's conv2d cross-correlation,
/// stride 1): `[batch][filters (x 2 with on_off)][out_height][out_width]`.
pub fn image_filter(geometry: &ImageFilter, images: &[f32], kernels: &[f32]) -> Result<Vec<f32>> {
    let [b, ch, h, w] = geometry.images;
    let [f, kh, kw] = geometry.kernels;
    // libsnn reads the arrays by the geometry alone: check them here.
    expect_len(images.len(), &[b, ch, h, w], "images")?;
    expect_len(kernels.len(), &[f, ch, kh, kw], "kernels")?;
    let mut g: sys::snn_image_filter_geometry = unsafe { std::mem::zeroed() };
    check(unsafe { sys::snn_image_filter_geometry_init(&mut g, size_of::<sys::snn_image_filter_geometry>() as u32) })?;
    g.batch = to_i32(b, "batch")?;
    g.channels = to_i32(ch, "channels")?;
    g.height = to_i32(h, "height")?;
    g.width = to_i32(w, "width")?;
    g.filters = to_i32(f, "filters")?;
    g.kernel_height = to_i32(kh, "kernel_height")?;
    g.kernel_width = to_i32(kw, "kernel_width")?;
    g.padding = match geometry.padding {
        Padding::Valid => sys::SNN_PADDING_VALID,
        Padding::Same => sys::SNN_PADDING_SAME,
    };
    g.on_off = i32::from(geometry.on_off);
    let mut count = 0i64;
    check(unsafe { sys::snn_image_filter(&g, images.as_ptr(), kernels.as_ptr(), ptr::null_mut(), 0, &mut count) })?;
    let mut out = vec![0.0f32; count.max(0) as usize];
    check(unsafe {
        sys::snn_image_filter(&g, images.as_ptr(), kernels.as_ptr(), out.as_mut_ptr(), count, &mut count)
    })?;
    Ok(out)
}

/// A fitted ZCA whitening: the mean `[columns]` and W `[columns][columns]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Zca {
    /// The mean of each column.
    pub mean: Vec<f32>,
    /// The whitening matrix.
    pub whitening: Vec<f32>,
    /// The number of columns.
    pub columns: usize,
}

impl Zca {
    /// Fits ZCA whitening on `data` `[rows][columns]` (rows >= 2), with
    /// `epsilon` added to every eigenvalue.
    pub fn fit(data: &[f32], rows: usize, columns: usize, epsilon: f64) -> Result<Zca> {
        expect_len(data.len(), &[rows, columns], "data")?;
        let mut mean = vec![0.0f32; columns];
        let mut whitening = vec![0.0f32; columns * columns];
        check(unsafe {
            sys::snn_zca_fit(
                data.as_ptr(),
                to_i64(rows, "rows")?,
                to_i64(columns, "columns")?,
                epsilon,
                mean.as_mut_ptr(),
                to_i64(mean.len(), "mean")?,
                whitening.as_mut_ptr(),
                to_i64(whitening.len(), "whitening")?,
            )
        })?;
        Ok(Zca { mean, whitening, columns })
    }

    /// Whitens rows of `columns` values: `W (row - mean)` each.
    pub fn apply(&self, data: &[f32]) -> Result<Vec<f32>> {
        let c = self.columns;
        if c == 0 || self.mean.len() != c || self.whitening.len() != c * c {
            return Err(Error::new(ErrorKind::InvalidArgument, "zca: not a fitted whitening"));
        }
        if data.len() % c != 0 {
            return Err(Error::new(ErrorKind::Shape, format!("data: {} values given; not rows of {c}", data.len())));
        }
        let mut out = vec![0.0f32; data.len()];
        check(unsafe {
            sys::snn_zca_apply(
                data.as_ptr(),
                to_i64(data.len() / c, "rows")?,
                to_i64(c, "columns")?,
                self.mean.as_ptr(),
                self.whitening.as_ptr(),
                out.as_mut_ptr(),
                to_i64(out.len(), "out")?,
            )
        })?;
        Ok(out)
    }
}

/// Rules of [`latency_encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LatencyRule {
    /// Rank order: sorted by value, spread evenly over the steps.
    Rank,
    /// Step `round((1 - clip(v, 0, 1)) * (steps - 1))`.
    Linear,
}

/// The spike step per neuron and the spikes of [`latency_encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatencyCode {
    /// The step of each neuron's spike, -1 for none, `[batch][neurons]`.
    pub first: Vec<i32>,
    /// The spikes, `[steps][batch][neurons]` (0/1): a spike_source's whole-run input.
    pub spikes: Vec<u8>,
}

/// Intensity-to-latency coding of `values` `[batch][neurons]` over `steps`
/// steps: one spike or none per neuron, higher values earlier; values at or
/// below `threshold` never spike.
pub fn latency_encode(
    values: &[f32],
    batch: usize,
    steps: usize,
    rule: LatencyRule,
    threshold: f64,
) -> Result<LatencyCode> {
    if batch > 0 && values.len() % batch != 0 {
        return Err(Error::new(
            ErrorKind::Shape,
            format!("values: {} values given; not [{batch}, neurons]", values.len()),
        ));
    }
    let neurons = if batch > 0 { values.len() / batch } else { 0 };
    let mut c: sys::snn_latency_options = unsafe { std::mem::zeroed() };
    check(unsafe { sys::snn_latency_options_init(&mut c, size_of::<sys::snn_latency_options>() as u32) })?;
    c.rule = match rule {
        LatencyRule::Rank => sys::SNN_LATENCY_RANK,
        LatencyRule::Linear => sys::SNN_LATENCY_LINEAR,
    };
    c.threshold = threshold;
    let mut code = LatencyCode { first: vec![0; batch * neurons], spikes: vec![0; steps * batch * neurons] };
    check(unsafe {
        sys::snn_latency_encode(
            values.as_ptr(),
            to_i32(batch, "batch")?,
            to_i64(neurons, "neurons")?,
            to_i32(steps, "steps")?,
            &c,
            code.first.as_mut_ptr(),
            to_i64(code.first.len(), "first")?,
            code.spikes.as_mut_ptr(),
            to_i64(code.spikes.len(), "spikes")?,
        )
    })?;
    Ok(code)
}

type Decoder = unsafe extern "C" fn(*const u8, i64, i32, i64, *mut i32, i64) -> sys::snn_status;

fn decode(spikes: &[u8], steps: usize, batch: usize, call: Decoder) -> Result<Vec<i32>> {
    if steps > 0 && batch > 0 && spikes.len() % (steps * batch) != 0 {
        return Err(Error::new(
            ErrorKind::Shape,
            format!("spikes: {} values given; not [{steps}, {batch}, neurons]", spikes.len()),
        ));
    }
    let neurons = if steps > 0 && batch > 0 { spikes.len() / (steps * batch) } else { 0 };
    let mut out = vec![0i32; batch * neurons];
    check(unsafe {
        call(
            spikes.as_ptr(),
            to_i64(steps, "steps")?,
            to_i32(batch, "batch")?,
            to_i64(neurons, "neurons")?,
            out.as_mut_ptr(),
            to_i64(out.len(), "count")?,
        )
    })?;
    Ok(out)
}

/// The first step with a spike (-1 for none) of each neuron of a recorded
/// `[steps][batch][neurons]` tensor (nonzero = spike), `[batch][neurons]`.
pub fn spikes_first_step(spikes: &[u8], steps: usize, batch: usize) -> Result<Vec<i32>> {
    decode(spikes, steps, batch, sys::snn_spikes_first_step)
}

/// The number of steps with a spike of each neuron, `[batch][neurons]`.
pub fn spikes_count(spikes: &[u8], steps: usize, batch: usize) -> Result<Vec<i32>> {
    decode(spikes, steps, batch, sys::snn_spikes_count)
}
