"""modelport.monitoring"""
