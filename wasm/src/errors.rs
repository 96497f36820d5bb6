//! Failures as real JS `Error` objects with a stable `.code`.
//!
//! The JS layer registers its exported `PaysealError` class once; every
//! failure is built as `new PaysealError(code, message, details)`, so it is
//! `instanceof Error` and `instanceof PaysealError`, carries a stack, and
//! never a string. Before registration (or if the class throws) the error is a
//! plain `Error` with `.code`, as workers-rs' `build_coded_error` does.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
use payseal_core::SignatureError;
use wasm_bindgen::prelude::*;

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the class failures are constructed with: `new Class(code, message, details)`.
#[wasm_bindgen(js_name = setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|slot| *slot.borrow_mut() = Some(class));
}

/// A coded error; `details` holds extra fields (an HTTP status, a response body).
pub(crate) fn coded(code: &str, message: &str, details: Option<Object>) -> JsValue {
    let details: JsValue = details.map_or(JsValue::UNDEFINED, Into::into);
    let built = ERROR_CLASS.with(|slot| {
        slot.borrow().as_ref().map(|class| {
            let args = Array::new();
            args.push(&JsValue::from_str(code));
            args.push(&JsValue::from_str(message));
            args.push(&details);
            Reflect::construct(class, &args)
        })
    });
    if let Some(Ok(error)) = built {
        return error;
    }
    let error = js_sys::Error::new(message);
    let _ = Reflect::set(&error, &JsValue::from_str("code"), &JsValue::from_str(code));
    error.into()
}

/// A `TypeError` for an argument the core cannot take.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// A signature failure: the spec's reason as `.code`, the core's fixed text as message.
pub(crate) fn signature_error(error: SignatureError) -> JsValue {
    coded(error.code(), &error.to_string(), None)
}

/// A plain object from `(name, value)` pairs, in order.
pub(crate) fn object(fields: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in fields {
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}
