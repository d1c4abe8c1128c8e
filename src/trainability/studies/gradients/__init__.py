"""Vanishing and exploding gradients: the gradient that reaches each layer, against depth."""
