"""Small general utilities with no knowledge of the product: time and calendar arithmetic."""
