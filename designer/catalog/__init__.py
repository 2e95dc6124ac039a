"""What can be placed on the canvas: layer specs built from keras.layers and user modules."""
