"""modelport.batch"""
