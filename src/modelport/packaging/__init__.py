"""modelport.packaging"""
