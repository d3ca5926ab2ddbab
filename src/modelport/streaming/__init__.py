"""modelport.streaming"""
