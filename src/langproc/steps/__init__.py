"""One module per step: a plain async function from a StepContext to a typed output model."""
