"""The lottery's write surface: publishing campaigns, drawing, revealing seeds. The only code that writes its tables."""
