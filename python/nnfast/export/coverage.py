"""The built-in layers the ONNX export does not convert, with the reason (the export raises
``ExportError`` naming such a layer). Every other public layer class has a converter; the
test suite checks that this list and the converter registry together cover
``nnfast.layers``."""

NOT_EXPORTED = {
    # string / lookup / hashing preprocessing: text and categories are not numeric tensors
    "TextVectorization": "works on strings", "StringLookup": "works on strings",
    "Hashing": "string/int hashing",
    "HashedCrossing": "feature hashing",
    # layers running user code or generic cells
    "Lambda": "runs a Python function",
    "SimpleRNNCell": "a cell (exported inside RNN)", "LSTMCell": "a cell (exported inside RNN)",
    "GRUCell": "a cell (exported inside RNN)",
    "StackedRNNCells": "a cell (exported inside RNN)",
}
