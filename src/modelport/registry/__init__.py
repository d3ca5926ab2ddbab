"""modelport.registry"""
