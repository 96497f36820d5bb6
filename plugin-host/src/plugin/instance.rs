//! One instance of the plugin: its store (memory limit, fuel, deadline),
//! its exported functions resolved once, and one call.

use wasmtime::{Instance as WasmInstance, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, Trap, TypedFunc};

use super::kernel::{self, Answer, HasKernel, Kernel};
use super::{CallFailure, PluginLimits, PoolError};

const WASM_PAGE: usize = 64 * 1024;

/// The data of an instance's store.
struct Host {
    kernel: Kernel,
    limits: StoreLimits,
}

impl HasKernel for Host {
    fn kernel(&mut self) -> &mut Kernel {
        &mut self.kernel
    }
}

/// The linker every instance of the engine is made with.
pub struct Template {
    linker: Linker<Host>,
    module: Module,
    limits: PluginLimits,
}

impl Template {
    /// Checks that `module` imports nothing this host lacks and exports its
    /// memory, then links the host functions.
    ///
    /// # Errors
    /// [`PoolError::MissingImport`] naming the first import the host does
    /// not provide; [`PoolError::Load`] for a module without memory.
    pub fn new(module: Module, limits: PluginLimits) -> Result<Self, PoolError> {
        for import in module.imports() {
            if import.module() != kernel::MODULE || !kernel::PROVIDED.contains(&import.name()) {
                return Err(PoolError::MissingImport(format!("{}::{}", import.module(), import.name())));
            }
        }
        if module.get_export("memory").is_none() {
            return Err(PoolError::Load("the plugin module exports no memory".into()));
        }
        let mut linker = Linker::new(module.engine());
        kernel::link(&mut linker)?;
        Ok(Self { linker, module, limits })
    }

    /// A fresh instance of the module, its memory and functions resolved.
    ///
    /// # Errors
    /// The module does not instantiate (the memory limit is below what the
    /// module declares, say).
    pub fn instantiate(&self) -> Result<Instance, PoolError> {
        let memory_limit = usize::try_from(self.limits.memory_max_pages).unwrap_or(usize::MAX).saturating_mul(WASM_PAGE);
        let limits = StoreLimitsBuilder::new().memory_size(memory_limit).instances(1).memories(1).tables(1).trap_on_grow_failure(false).build();
        let mut store = Store::new(self.module.engine(), Host { kernel: Kernel::new(memory_limit), limits });
        store.limiter(|host| &mut host.limits);
        store.epoch_deadline_trap();
        // Fuel and the deadline are set before every call; a start function
        // gets the same budget.
        if self.limits.fuel > 0 {
            store.set_fuel(self.limits.fuel).map_err(|e| PoolError::Load(e.to_string()))?;
        }
        store.set_epoch_deadline(super::engine::deadline_ticks(self.limits.timeout));
        let instance = self.linker.instantiate(&mut store, &self.module).map_err(|e| PoolError::Load(format!("the plugin does not instantiate: {e}")))?;
        let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| PoolError::Load("the plugin module exports no memory".into()))?;
        let functions = exported_functions(&self.module, &instance, &mut store);
        Ok(Instance { store, memory, functions, limits: self.limits })
    }
}

/// The `() -> i32` exports: the plugin's callable functions.
fn exported_functions(module: &Module, instance: &WasmInstance, store: &mut Store<Host>) -> Vec<(String, TypedFunc<(), i32>)> {
    module
        .exports()
        .filter_map(|export| {
            let name = export.name().to_owned();
            instance.get_typed_func::<(), i32>(&mut *store, &name).ok().map(|function| (name, function))
        })
        .collect()
}

/// An instance ready for calls.
pub struct Instance {
    store: Store<Host>,
    memory: Memory,
    functions: Vec<(String, TypedFunc<(), i32>)>,
    limits: PluginLimits,
}

impl Instance {
    /// Calls `function` with `input`. The plugin document, when given, is
    /// offered to this call's `config_get` and wiped when the call ends.
    ///
    /// # Errors
    /// The plugin's typed error (its JSON), or how the call broke.
    pub fn call(&mut self, function: &str, input: &[u8], document: Option<&[u8]>) -> Result<Vec<u8>, CallFailure> {
        let Self { store, functions, limits, .. } = self;
        let Some((_, typed)) = functions.iter().find(|(name, _)| name == function) else {
            return Err(CallFailure::NoSuchFunction(function.to_owned()));
        };
        let kernel = &mut store.data_mut().kernel;
        kernel.set_input(input);
        if let Some(document) = document {
            kernel.offer_document(document);
        }
        if limits.fuel > 0 && store.set_fuel(limits.fuel).is_err() {
            store.data_mut().kernel.wipe();
            return Err(CallFailure::Trap);
        }
        store.set_epoch_deadline(super::engine::deadline_ticks(limits.timeout));
        let returned = typed.call(&mut *store, ());
        let answer = store.data_mut().kernel.finish();
        match (returned, answer) {
            (Ok(0), Answer::Output(output)) => Ok(output),
            (Ok(_), Answer::Error(error)) => Err(CallFailure::Plugin(error)),
            // A non-zero return without an error: nothing to vouch for.
            (Ok(_), Answer::Output(_)) => Err(CallFailure::Plugin(Vec::new())),
            (Err(error), _) => Err(classify(&error)),
        }
    }

    /// Makes this fresh instance's state that of `donor`: the same memory
    /// bytes. Rust's only mutable global (the stack pointer) is back at its
    /// initial value between calls, and tables are never written, so the
    /// memory is the whole state. The bytes go from one linear memory to the
    /// other without a copy in the host's heap.
    ///
    /// # Errors
    /// This instance's memory cannot grow to the donor's size.
    pub fn copy_state_from(&mut self, donor: &mut Self) -> Result<(), PoolError> {
        let (have, want) = (self.memory.size(&self.store), donor.memory.size(&donor.store));
        if want > have {
            self.memory.grow(&mut self.store, want - have).map_err(|e| PoolError::Load(format!("a fresh instance cannot take the pool's state: {e}")))?;
        }
        let source = donor.memory.data(&donor.store);
        let target = self.memory.data_mut(&mut self.store);
        let length = source.len().min(target.len());
        target[..length].copy_from_slice(&source[..length]);
        Ok(())
    }

    /// The linear memory's address range, for the heap-scan test.
    #[cfg(test)]
    pub fn memory_range(&self) -> std::ops::Range<usize> {
        let start = self.memory.data_ptr(&self.store) as usize;
        start..start + self.memory.data_size(&self.store)
    }
}

/// Names a failed call by its class: a trap's message is not the plugin's
/// to vouch for, so only the class goes on.
fn classify(error: &wasmtime::Error) -> CallFailure {
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => CallFailure::FuelExhausted,
        Some(Trap::Interrupt) => CallFailure::Timeout,
        _ => CallFailure::Trap,
    }
}
