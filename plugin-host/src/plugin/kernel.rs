//! The part of Extism's ABI (`extism:host/env`) the plugin imports, served
//! by the gateway itself.
//!
//! Extism hosts keep a second memory beside the guest's, addressed by
//! offsets, through which the input, the output, the error and config
//! values travel; the guest copies bytes in and out with `load_*`/`store_*`
//! calls. Here that memory is one byte vector per instance ([`Kernel`]),
//! blocks are allocated by bumping, and everything is wiped after each call:
//! the memory carries API keys (the input) and, during the one call that
//! parses it, the plugin document with every secret. Growth never leaves a
//! copy behind either: the old buffer is wiped before it is freed.
//!
//! Offset 0 is never a block, so it can mean "none" as the ABI wants.

use wasmtime::{Caller, Linker};
use zeroize::Zeroize;

use super::PoolError;

/// The ABI's module name.
pub const MODULE: &str = "extism:host/env";

/// The imports this host provides; any other import of a module fails the
/// pool build, naming it.
pub const PROVIDED: &[&str] = &[
    "alloc",
    "length",
    "load_u8",
    "load_u64",
    "store_u8",
    "store_u64",
    "input_length",
    "input_load_u8",
    "input_load_u64",
    "output_set",
    "error_set",
    "config_get",
    "log_info",
    "log_warn",
    "log_error",
];

/// The config entry the plugin reads.
pub const CONFIG_KEY: &str = "payseal";

/// One instance's side of the ABI: its memory and the state of one call.
pub struct Kernel {
    /// Byte 0 is a reserved placeholder: offsets start at 1.
    memory: Vec<u8>,
    /// `(offset, length)` of each allocated block, in offset order.
    blocks: Vec<(u64, u64)>,
    /// How large `memory` may grow: the instance's memory limit.
    capacity_limit: usize,
    input: Vec<u8>,
    output: Option<(u64, u64)>,
    error: Option<u64>,
    /// The plugin document, present only while the instance parses it.
    document: Option<Vec<u8>>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel").field("blocks", &self.blocks.len()).finish_non_exhaustive()
    }
}

/// What a call left behind.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// `output_set` named these bytes (empty when it was never called).
    Output(Vec<u8>),
    /// `error_set` named these bytes.
    Error(Vec<u8>),
}

impl Kernel {
    /// An empty kernel whose memory may grow to `capacity_limit` bytes.
    pub fn new(capacity_limit: usize) -> Self {
        let mut memory = Vec::with_capacity(64 * 1024);
        memory.push(0);
        Self { memory, blocks: Vec::new(), capacity_limit, input: Vec::new(), output: None, error: None, document: None }
    }

    /// Sets the input of the next call (a copy, wiped after the call).
    pub fn set_input(&mut self, input: &[u8]) {
        self.input.clear();
        grow_wiping(&mut self.input, input.len());
        self.input.extend_from_slice(input);
    }

    /// Offers the plugin document to the next call's `config_get`. The
    /// kernel wipes its copy when the call ends ([`Kernel::finish`]).
    pub fn offer_document(&mut self, document: &[u8]) {
        let mut copy = Vec::with_capacity(document.len());
        copy.extend_from_slice(document);
        self.document = Some(copy);
    }

    /// The call's answer; then every byte the call used is wiped.
    pub fn finish(&mut self) -> Answer {
        let answer = match (self.error, self.output) {
            (Some(offset), _) => Answer::Error(self.block(offset).map(<[u8]>::to_vec).unwrap_or_default()),
            (None, Some((offset, length))) => Answer::Output(self.bytes(offset, length).map(<[u8]>::to_vec).unwrap_or_default()),
            (None, None) => Answer::Output(Vec::new()),
        };
        self.wipe();
        answer
    }

    /// Wipes the memory, the input and the document (after a trap, too).
    pub fn wipe(&mut self) {
        // Only the used bytes: the spare capacity beyond them was wiped by
        // an earlier call (or never written), and a call's cost should not
        // grow with the largest call the instance ever served. A plain
        // `fill` (a memset, many times faster than `zeroize`'s byte-by-byte
        // volatile writes on every request): these buffers live on and are
        // written again by the next call, so the stores are not dead, and
        // `black_box` keeps the compiler from reasoning otherwise. A
        // dropped kernel is wiped with `zeroize` ([`Drop`]).
        wipe_used(&mut self.memory);
        self.memory.truncate(1);
        self.blocks.clear();
        wipe_used(&mut self.input);
        self.input.clear();
        if let Some(mut document) = self.document.take() {
            document.zeroize();
        }
        self.output = None;
        self.error = None;
    }

    fn alloc(&mut self, length: u64) -> u64 {
        let Ok(size) = usize::try_from(length) else { return 0 };
        let offset = self.memory.len();
        if size == 0 || offset.saturating_add(size) > self.capacity_limit {
            return 0;
        }
        grow_wiping(&mut self.memory, size);
        self.memory.resize(offset + size, 0);
        let offset = offset as u64;
        self.blocks.push((offset, length));
        offset
    }

    fn length(&self, offset: u64) -> u64 {
        self.blocks.binary_search_by_key(&offset, |&(start, _)| start).map_or(0, |i| self.blocks[i].1)
    }

    fn block(&self, offset: u64) -> Option<&[u8]> {
        self.bytes(offset, self.length(offset))
    }

    fn bytes(&self, offset: u64, length: u64) -> Option<&[u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(length).ok()?)?;
        self.memory.get(start..end)
    }

    fn bytes_mut(&mut self, offset: u64, length: usize) -> Option<&mut [u8]> {
        let start = usize::try_from(offset).ok()?;
        self.memory.get_mut(start..start.checked_add(length)?)
    }

    fn config_get(&mut self, key_offset: u64) -> u64 {
        let wanted = self.block(key_offset) == Some(CONFIG_KEY.as_bytes());
        let Some(document) = self.document.as_ref().filter(|_| wanted) else { return 0 };
        let length = document.len() as u64;
        let offset = self.alloc(length);
        if offset == 0 {
            return 0;
        }
        let document = self.document.take();
        if let (Some(mut document), Some(target)) = (document, self.bytes_mut(offset, usize::try_from(length).unwrap_or(0))) {
            target.copy_from_slice(&document);
            document.zeroize();
        }
        offset
    }
}

fn wipe_used(bytes: &mut Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(bytes.as_mut_slice());
}

impl Drop for Kernel {
    fn drop(&mut self) {
        self.memory.zeroize();
        self.input.zeroize();
        if let Some(mut document) = self.document.take() {
            document.zeroize();
        }
    }
}

/// Makes room for `more` bytes in `bytes` without leaving the old buffer's
/// contents in freed memory.
fn grow_wiping(bytes: &mut Vec<u8>, more: usize) {
    let needed = bytes.len().saturating_add(more);
    if needed <= bytes.capacity() {
        return;
    }
    let mut grown = Vec::with_capacity(needed.max(bytes.capacity().saturating_mul(2)));
    grown.extend_from_slice(bytes);
    bytes.zeroize();
    *bytes = grown;
}

/// A trap raised by the host: the guest asked for bytes outside its kernel
/// memory. Its instance is replaced, as after any trap.
fn out_of_bounds(what: &str, offset: u64) -> wasmtime::Error {
    wasmtime::Error::msg(format!("{what} outside the kernel memory (offset {offset})"))
}

/// Anything that owns a [`Kernel`]: the store's data.
pub trait HasKernel {
    /// The kernel of this store.
    fn kernel(&mut self) -> &mut Kernel;
}

/// Adds the ABI's functions to `linker`.
///
/// # Errors
/// A name is defined twice (a bug of this module).
pub fn link<T: HasKernel + 'static>(linker: &mut Linker<T>) -> Result<(), PoolError> {
    fn define<T>(result: wasmtime::Result<&mut Linker<T>>) -> Result<(), PoolError> {
        result.map(|_| ()).map_err(|e| PoolError::Load(format!("the host functions do not link: {e}")))
    }
    define(linker.func_wrap(MODULE, "alloc", |mut c: Caller<'_, T>, n: u64| c.data_mut().kernel().alloc(n)))?;
    define(linker.func_wrap(MODULE, "length", |mut c: Caller<'_, T>, offset: u64| c.data_mut().kernel().length(offset)))?;
    define(linker.func_wrap(MODULE, "load_u8", |mut c: Caller<'_, T>, offset: u64| {
        c.data_mut().kernel().bytes(offset, 1).map(|b| u32::from(b[0])).ok_or_else(|| out_of_bounds("load_u8", offset))
    }))?;
    define(linker.func_wrap(MODULE, "load_u64", |mut c: Caller<'_, T>, offset: u64| {
        c.data_mut().kernel().bytes(offset, 8).map(le_u64).ok_or_else(|| out_of_bounds("load_u64", offset))
    }))?;
    define(linker.func_wrap(MODULE, "store_u8", |mut c: Caller<'_, T>, offset: u64, value: u32| {
        let target = c.data_mut().kernel().bytes_mut(offset, 1).ok_or_else(|| out_of_bounds("store_u8", offset))?;
        // The ABI passes the byte in an i32; its low byte is the value.
        target[0] = value.to_le_bytes()[0];
        Ok(())
    }))?;
    define(linker.func_wrap(MODULE, "store_u64", |mut c: Caller<'_, T>, offset: u64, value: u64| {
        let target = c.data_mut().kernel().bytes_mut(offset, 8).ok_or_else(|| out_of_bounds("store_u64", offset))?;
        target.copy_from_slice(&value.to_le_bytes());
        Ok(())
    }))?;
    define(linker.func_wrap(MODULE, "input_length", |mut c: Caller<'_, T>| c.data_mut().kernel().input.len() as u64))?;
    define(linker.func_wrap(MODULE, "input_load_u8", |mut c: Caller<'_, T>, offset: u64| {
        let input = &c.data_mut().kernel().input;
        usize::try_from(offset).ok().and_then(|i| input.get(i)).map(|&b| u32::from(b)).ok_or_else(|| out_of_bounds("input_load_u8", offset))
    }))?;
    define(linker.func_wrap(MODULE, "input_load_u64", |mut c: Caller<'_, T>, offset: u64| {
        let input = &c.data_mut().kernel().input;
        usize::try_from(offset)
            .ok()
            .and_then(|i| input.get(i..i.checked_add(8)?))
            .map(le_u64)
            .ok_or_else(|| out_of_bounds("input_load_u64", offset))
    }))?;
    define(linker.func_wrap(MODULE, "output_set", |mut c: Caller<'_, T>, offset: u64, length: u64| {
        let kernel = c.data_mut().kernel();
        kernel.bytes(offset, length).ok_or_else(|| out_of_bounds("output_set", offset))?;
        kernel.output = Some((offset, length));
        Ok(())
    }))?;
    define(linker.func_wrap(MODULE, "error_set", |mut c: Caller<'_, T>, offset: u64| {
        c.data_mut().kernel().error = Some(offset);
    }))?;
    define(linker.func_wrap(MODULE, "config_get", |mut c: Caller<'_, T>, offset: u64| c.data_mut().kernel().config_get(offset)))?;
    define(linker.func_wrap(MODULE, "log_info", |mut c: Caller<'_, T>, offset: u64| log(c.data_mut().kernel(), tracing::Level::INFO, offset)))?;
    define(linker.func_wrap(MODULE, "log_warn", |mut c: Caller<'_, T>, offset: u64| log(c.data_mut().kernel(), tracing::Level::WARN, offset)))?;
    define(linker.func_wrap(MODULE, "log_error", |mut c: Caller<'_, T>, offset: u64| log(c.data_mut().kernel(), tracing::Level::ERROR, offset)))?;
    Ok(())
}

fn le_u64(bytes: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// The plugin's log lines name functions, outcomes and typed errors, never a
/// secret (the plugin's own hygiene tests hold it to that).
fn log(kernel: &Kernel, level: tracing::Level, offset: u64) {
    // Every call logs its outcome at info; most gateways log at warn, so
    // the line is not even decoded then.
    let enabled = match level {
        tracing::Level::ERROR => tracing::enabled!(target: "payseal::plugin", tracing::Level::ERROR),
        tracing::Level::WARN => tracing::enabled!(target: "payseal::plugin", tracing::Level::WARN),
        _ => tracing::enabled!(target: "payseal::plugin", tracing::Level::DEBUG),
    };
    if !enabled {
        return;
    }
    let Some(line) = kernel.block(offset) else { return };
    let line = String::from_utf8_lossy(line);
    match level {
        tracing::Level::ERROR => tracing::error!(target: "payseal::plugin", "{line}"),
        tracing::Level::WARN => tracing::warn!(target: "payseal::plugin", "{line}"),
        _ => tracing::debug!(target: "payseal::plugin", "{line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(kernel: &mut Kernel, bytes: &[u8]) -> u64 {
        let offset = kernel.alloc(bytes.len() as u64);
        kernel.bytes_mut(offset, bytes.len()).unwrap().copy_from_slice(bytes);
        offset
    }

    #[test]
    fn blocks_are_found_by_their_offset_only() {
        let mut kernel = Kernel::new(1 << 20);
        let a = store(&mut kernel, b"hello");
        let b = store(&mut kernel, b"world!");
        assert_eq!((a, b), (1, 6));
        assert_eq!((kernel.length(a), kernel.length(b)), (5, 6));
        // Inside a block, past the end, and 0 are not blocks.
        assert_eq!((kernel.length(2), kernel.length(99), kernel.length(0)), (0, 0, 0));
        assert_eq!(kernel.block(b), Some(&b"world!"[..]));
        assert_eq!(kernel.bytes(b, 7), None, "a read past the memory's end");
    }

    #[test]
    fn allocation_stops_at_the_memory_limit() {
        let mut kernel = Kernel::new(100);
        assert_eq!(kernel.alloc(0), 0);
        assert_eq!(kernel.alloc(99), 1);
        assert_eq!(kernel.alloc(1), 0, "the limit counts the reserved byte");
        assert_eq!(kernel.alloc(u64::MAX), 0);
    }

    #[test]
    fn the_document_is_given_once_for_the_config_key_only() {
        let mut kernel = Kernel::new(1 << 20);
        kernel.offer_document(b"{\"secret\":1}");
        let other = store(&mut kernel, b"other");
        assert_eq!(kernel.config_get(other), 0);
        let key = store(&mut kernel, CONFIG_KEY.as_bytes());
        let value = kernel.config_get(key);
        assert_eq!(kernel.block(value), Some(&b"{\"secret\":1}"[..]));
        assert_eq!(kernel.config_get(key), 0, "the document is handed over once");
    }

    #[test]
    fn a_call_leaves_nothing_behind() {
        let mut kernel = Kernel::new(1 << 20);
        kernel.set_input(b"x-api-key: sk_live_canary");
        kernel.offer_document(b"canary-document");
        let out = store(&mut kernel, b"{\"ok\":true}");
        kernel.output = Some((out, 11));
        assert_eq!(kernel.finish(), Answer::Output(b"{\"ok\":true}".to_vec()));
        assert!(kernel.input.is_empty() && kernel.document.is_none() && kernel.blocks.is_empty());
        assert_eq!(kernel.memory, vec![0]);
        // The error wins over an output.
        let error = store(&mut kernel, b"{\"kind\":\"config\"}");
        kernel.output = Some((error, 1));
        kernel.error = Some(error);
        assert_eq!(kernel.finish(), Answer::Error(b"{\"kind\":\"config\"}".to_vec()));
    }

    #[test]
    fn growing_wipes_the_old_buffer() {
        let mut bytes = Vec::with_capacity(4);
        bytes.extend_from_slice(b"abcd");
        let old = bytes.as_ptr();
        grow_wiping(&mut bytes, 100);
        assert_eq!(bytes, b"abcd");
        assert!(bytes.capacity() >= 104);
        assert_ne!(bytes.as_ptr(), old);
    }
}
