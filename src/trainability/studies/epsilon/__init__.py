"""The epsilon study: RMSprops and Adams eps, inside or outside the square root."""
