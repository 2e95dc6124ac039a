"""The design itself: graph model, validation, project files. Qt-free and Keras-free."""
