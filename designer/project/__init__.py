"""The open project as one model: its graph and the state beside it, with signals. Qt-free, Keras-free."""
