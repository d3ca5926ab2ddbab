"""modelport.serving"""
